// What the global setup hands every test file (`inject('rabbitmqUrl')`, …): typed for every importer.
import './provided';
export { TestBroker } from './amqp';
export { brokerAdmin, discoverBrokerAdmin, rabbitmqctlControls, type BrokerAdmin } from './broker-admin';
export { anEvent, anOrderRequest } from './builders';
export { createTestDatabase, createTestVhost, query, type TestDatabase, type TestVhost } from './resources';
export {
  DATABASE_OWNERS,
  ensureBrokerUsers,
  ensureDbRoles,
  ensureServiceDatabase,
  newAccess,
  provisionAccess,
  vhostDefinitions,
  withCredentials,
  type Access,
  type BrokerAccess,
  type BrokerUser,
  type DatabaseAccess,
} from './access';
export { freePort } from './ports';
export { eventually } from './wait';
