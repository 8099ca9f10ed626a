export { subscribe, type Handler, type HandlerContext, type HandlerMap, type Subscription } from './consumer';
export { BrokerUnavailableError, PermanentError, UnroutableError, errorMessage } from './errors';
export { HEADER, type DeadLetterReason } from './headers';
export { Messaging, type MessagingOptions, type MessagingStatus } from './messaging';
export { createMessagingMetrics, type MessagingMetrics } from './metrics';
export { stageEvent, type UnitOfWork } from './outbox';
export { DEFAULT_RETRY_POLICY, retryDelays, waitQueueName, type RetryPolicy } from './retry-policy';
export { captureTraceHeaders, contextFromHeaders } from './tracing';
export const MIGRATIONS_DIR = require('node:path').join(__dirname, '..', 'migrations') as string;
