export { TestBroker } from './amqp';
export { brokerAdmin, discoverBrokerAdmin, rabbitmqctlControls, type BrokerAdmin, type Definitions } from './broker-admin';
export { anEvent, anOrderRequest, sampleData } from './builders';
export { createTestDatabase, createTestVhost, query, type TestDatabase, type TestVhost } from './resources';
export { ensureBrokerUsers, ensureDbRoles, newAccess, vhostDefinitions, withCredentials, type Access, type ServiceAccess } from './access';
export { eventually } from './wait';
export { expectEnvelope, expectReady, startHarness, type Harness, type Published } from './service-harness';
