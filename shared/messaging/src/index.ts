export { parseBrokerUrls } from './broker-addresses';
export { DeadLetters, type DeadLetter, type Selection } from './dead-letters';
export { BrokerUnavailableError, DependencyError } from './errors';
export { unavailableDependency } from './failures';
export { subscribe, type Handler, type Subscription } from './handler';
export { Messaging } from './messaging';
export { type Dependency } from './outage';
export { type RunUnitOfWork } from './unit-of-work';
export const MIGRATIONS_DIR = require('node:path').join(__dirname, '..', 'migrations') as string;
