export { decodeEvent, eventCatalog, isEventType, SKU_PATTERN } from './events';
export type { AnyEvent, DecodeResult, EventData, EventType, NotificationChannel, NotificationKind, TypedEvent } from './events';
export { brokerPermissionsOf, deadLetterQueueOf, exchangeOf, OBSERVER, observerPermissions, observerQueueOf, ownExchangeOf, queueOf, SERVICES, SUBSCRIBED_EVENTS, type BrokerPermissions, type ServiceName } from './topology';
export {
  deadLetterCountQuerySchema,
  deadLetterCountSchema,
  DRIFT_KINDS,
  DRIFT_SAMPLE_MAX_CHARS,
  driftSchema,
  OBSERVER_INVARIANTS,
  observerInvariantsSchema,
  observerMapSchema,
  violationResolvedSchema,
  violationSchema,
} from './observer';
export type { DeadLetterCount, Drift, DriftKind, MapEdge, MapExchange, MapService, MapSubscription, ObserverInvariant, ObserverInvariants, ObserverMap, Violation, ViolationResolved } from './observer';
export {
  deadLetterGroupIdSchema,
  deadLetterGroupListSchema,
  deadLetterGroupSchema,
  deadLetterGroupsQuerySchema,
  deadLetterListQuerySchema,
  deadLetterListSchema,
  deadLetterPurgeResultSchema,
  deadLetterReplayResultSchema,
  deadLetterSelectionSchema,
  errorSchema,
  faultFlagsSchema,
  healthSchema,
  notificationListSchema,
  orderViewSchema,
  serviceChecksSchema,
  stockLevelSchema,
  failedAttemptListSchema,
  failedAttemptsQuerySchema,
  idempotencyKeySchema,
  orderListQuerySchema,
  orderListSchema,
  orderRequestSchema,
  readinessSchema,
} from './http';
export type {
  DeadLetter,
  DeadLetterGroup,
  DeadLetterGroupList,
  DeadLetterList,
  DeadLetterPurgeResult,
  DeadLetterReplayResult,
  ErrorBody,
  FailedAttemptList,
  FaultFlag,
  FaultFlags,
  Health,
  Notification,
  NotificationList,
  OrderList,
  OrderRequest,
  OrderStatus,
  OrderSummary,
  OrderView,
  Readiness,
  ServiceChecks,
  StockLevel,
} from './http';
export {
  journeySchema,
  ordersFeedEventSchema,
  placedOrderSchema,
  webDeadLetterSelectionSchema,
  webInvariantResolvedSchema,
  webInvariantsSchema,
  webMapSchema,
  webDeadLettersSchema,
  webFaultChangeSchema,
  webFaultsSchema,
  webSettingsSchema,
  webStockSchema,
} from './web';
export type { DeadLetterView, Journey, JourneyHop, JourneyNotification, OrdersFeedEvent, PlacedOrder, WebDeadLetters, WebFaults, WebInvariants, WebMap, WebSettings, WebStock } from './web';
export {
  gatewayChargeRequestSchema,
  gatewayEntrySchema,
  gatewayLedgerQuerySchema,
  gatewayLedgerSchema,
  gatewayRefundRequestSchema,
} from './gateway';
export type { GatewayChargeRequest, GatewayEntry, GatewayLedger, GatewayRefundRequest } from './gateway';
export { HEADER } from './headers';
export { HISTOGRAM_METRICS, METRIC } from './metrics';
export { ASYNCAPI_EXTENSION, asyncApiDocument, openApiDocument, WEB_ASSETS } from './published';
