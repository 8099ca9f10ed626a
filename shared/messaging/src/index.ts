// The public API of @troupe/messaging; `./domain` is the entry domain code may use.
export { parseBrokerUrls } from './broker/addresses';
export { ConfirmPublisher } from './broker/publisher';
export { type FailedAttempt } from './consume/failed-attempts';
export { subscribe, type Handler, type Subscription } from './consume/handler';
export { DeadLetters, type DeadLetter, type DeadLetterGroup, type Selection } from './dead-letters/dead-letters';
export { BrokerUnavailableError, DependencyError } from './errors';
export { Messaging } from './messaging';
export { unavailableDependency } from './outages/failures';
export { type Dependency } from './outages/outages';
export { withTransaction } from './transaction';
export { sharedUnitOfWork, type SharedUnitOfWork } from './unit-of-work/shared-unit-of-work';
export { type RunUnitOfWork } from './unit-of-work/unit-of-work';
export const MIGRATIONS_DIR = require('node:path').join(__dirname, '..', 'migrations') as string;
