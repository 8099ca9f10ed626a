export { decodeEvent, eventCatalog, isEventType, SKU_PATTERN } from './events';
export type { AnyEvent, DecodeResult, EventData, EventType, NotificationChannel, NotificationKind, TypedEvent } from './events';
export { brokerPermissionsOf, deadLetterQueueOf, exchangeOf, ownExchangeOf, queueOf, SERVICES, type ServiceName } from './topology';
export { deadLetterListQuerySchema, deadLetterSelectionSchema, idempotencyKeySchema, orderListQuerySchema, orderListSchema, orderRequestSchema } from './http';
export type { OrderRequest, OrderStatus, OrderView } from './http';
export { HEADER } from './headers';
export { HISTOGRAM_METRICS, METRIC } from './metrics';
export { asyncApiDocument, openApiDocument } from './published';
