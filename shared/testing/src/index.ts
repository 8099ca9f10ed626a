// What the global setup hands every test file (`inject('rabbitmqUrl')`, …): typed for every importer.
import './provided';
export { TestBroker } from './amqp';
export { brokerAdmin, rabbitmqctlControls } from './broker-admin';
export { anEvent, anOrderRequest } from './builders';
export { createTestDatabase, createTestVhost, query, type TestDatabase, type TestVhost } from './resources';
export { ensureBrokerUsers, ensureDbRoles, vhostDefinitions, withCredentials, type Access, type DatabaseAccess } from './access';
export { eventually } from './wait';
