export { TestBroker } from './amqp';
export { brokerAdmin, rabbitmqctlControls } from './broker-admin';
export { anEvent, anOrderRequest } from './builders';
export { createTestDatabase, createTestVhost, query, type TestDatabase, type TestVhost } from './resources';
export { ensureBrokerUsers, ensureDbRoles, vhostDefinitions, withCredentials, type Access } from './access';
export { eventually } from './wait';
export { expectEnvelope, expectReady, startHarness, type Harness } from './service-harness';
