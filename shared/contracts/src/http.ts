import { z } from 'zod';
import { moneySchema as money, notificationChannelSchema, notificationKindSchema, skuSchema as sku, textSchema } from './events';

/**
 * The services' HTTP contracts (docs/design.md "HTTP API"): what the order service validates requests
 * with, and the shapes its and the other services' answers take. The OpenAPI document is
 * generated from these.
 */

/** An order's status, in the order it moves (or to CANCELLED). */
export const ORDER_STATUSES = ['PENDING', 'PAID', 'RESERVED', 'COMPLETED', 'CANCELLED'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
const orderStatus = z.enum(ORDER_STATUSES);
const pricedItem = z.object({ sku, quantity: z.int().min(1), unitPriceCents: z.int().min(0) });

/** POST /orders body. Unknown fields are rejected, not ignored. */
export const orderRequestSchema = z.strictObject({
  customerId: textSchema(1, 200),
  email: z.email().max(320),
  items: z
    .array(z.strictObject({ sku, quantity: z.int().min(1).max(1000) }))
    .min(1)
    .max(100),
  paymentMethod: z.strictObject({ token: textSchema(1, 200) }),
});

export type OrderRequest = z.infer<typeof orderRequestSchema>;

/** Idempotency-Key: an opaque client-chosen string, printable ASCII. */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters');

/** GET /orders query: how many of the latest orders (newest first). */
export const orderListQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});

/** GET /orders/{id}, and the 202 of POST /orders (history then holds OrderPlaced alone). */
export const orderViewSchema = z.object({
  orderId: z.uuid(),
  status: orderStatus,
  customerId: z.string(),
  items: z.array(pricedItem),
  total: money,
  history: z.array(z.object({ type: z.string(), at: z.iso.datetime() })),
  traceId: z.string().nullable(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type OrderView = z.infer<typeof orderViewSchema>;

/** GET /orders: every customer's latest orders, an operator's read (OPERATOR_READ_TOKEN or ADMIN_TOKEN). */
export const orderListSchema = z.object({
  orders: z.array(orderViewSchema.pick({ orderId: true, status: true, items: true, total: true, createdAt: true, updatedAt: true })),
});
export type OrderList = z.infer<typeof orderListSchema>;
export type OrderSummary = OrderList['orders'][number];

/** GET /stock/{sku} */
export const stockLevelSchema = z.object({ sku, available: z.int().min(0), reserved: z.int().min(0) });
export type StockLevel = z.infer<typeof stockLevelSchema>;

/** GET /notifications?orderId= */
export const notificationListSchema = z.object({
  orderId: z.uuid(),
  notifications: z.array(
    z.object({
      id: z.uuid(),
      orderId: z.uuid(),
      kind: notificationKindSchema,
      channel: notificationChannelSchema,
      recipient: z.string().optional().meta({ description: "The customer's address (only with an operator's token: personal data)" }),
      subject: z.string(),
      body: z.string().optional().meta({ description: "The text sent (only with an operator's token: personal data)" }),
      sentAt: z.iso.datetime(),
    }),
  ),
});
export type NotificationList = z.infer<typeof notificationListSchema>;
export type Notification = NotificationList['notifications'][number];

/** GET /failed-attempts query (every service). */
export const failedAttemptsQuerySchema = z.object({ orderId: z.uuid('must be an order id (UUID)') });

/**
 * GET /failed-attempts?orderId=: every attempt at one of the order's messages that failed in this
 * service, oldest first, and whether it was retried or dead-lettered (the broker forgets a failure
 * once the retry succeeds; this does not). An operator's read (OPERATOR_READ_TOKEN or ADMIN_TOKEN):
 * the error's message may hold anything the failing code put in it (an address in an SMTP answer,
 * say). The web front hands the messages on to an admin's page only.
 */
export const failedAttemptListSchema = z.object({
  orderId: z.uuid(),
  failedAttempts: z.array(
    z.object({
      queue: z.string().meta({ description: 'The queue the message failed on' }),
      eventId: z.uuid(),
      eventType: z.string(),
      replay: z.int().min(0).meta({ description: 'Replays from the dead-letter queue before this attempt (0: none); a replay starts again at attempt 1' }),
      attempt: z.int().min(1),
      outcome: z.enum(['retried', 'dead-lettered']),
      retryDelayMs: z.int().min(0).optional().meta({ description: 'Retried: the backoff before the next attempt (up to 20% shorter with jitter)' }),
      deadLetterReason: z.string().optional().meta({ description: 'Dead-lettered: exhausted or permanent' }),
      errorName: z.string().meta({ description: "The error's class, e.g. TransientGatewayError" }),
      error: z.string().optional().meta({ description: "The error's message (the web front's journey: only for an admin's request)" }),
      failedAt: z.iso.datetime(),
    }),
  ),
});
export type FailedAttemptList = z.infer<typeof failedAttemptListSchema>;

/** Every 4xx and 5xx: a message, for a 400 each invalid field, and for a 503 the dependency that is away. */
export const errorSchema = z.object({
  error: z.string(),
  details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  dependency: z.string().optional().meta({ description: 'A 503: what the service is waiting for (the database, the broker, or one of its own dependencies)' }),
});
export type ErrorBody = z.infer<typeof errorSchema>;

/** GET /healthz */
export const healthSchema = z.object({ status: z.literal('ok') });
export type Health = z.infer<typeof healthSchema>;

/** What a service checks before it says it is ready (GET /readyz), and what it reports besides. */
export const serviceChecksSchema = z.object({
  database: z.boolean(),
  broker: z.boolean(),
  brokerNode: z.string().optional().meta({ description: '`host:port` of the broker node connected to (or being tried)' }),
  dependencies: z
    .record(z.string(), z.object({ up: z.boolean(), downForMs: z.int().min(0).optional() }))
    .meta({ description: 'The database and what handlers need besides (an SMTP server): up, or away and for how long (docs/decisions/0009)' }),
  subscriptions: z.array(
    z.object({
      queue: z.string(),
      exchange: z.string().optional().meta({ description: 'The exchange the queue is bound to (what the observer holds against the contract)' }),
      consuming: z.boolean(),
      unacked: z.int().min(0).optional().meta({ description: 'Messages this replica has taken off the queue and not yet settled' }),
      pausedBy: z.array(z.string()).optional().meta({ description: 'The dependencies the subscription waits for' }),
    }),
  ),
});
export type ServiceChecks = z.infer<typeof serviceChecksSchema>;

/**
 * GET /readyz: 200 when ready, 503 with the same body when not. The web front has no database or
 * broker of its own: it is ready while it runs, and its checks are empty.
 */
export const readinessSchema = z.object({
  status: z.enum(['ready', 'not ready']),
  checks: z.union([
    serviceChecksSchema,
    z.strictObject({}).meta({ description: 'The web front: nothing of its own to check' }),
    z.strictObject({ database: z.boolean() }).meta({ description: 'The card gateway: its database alone' }),
    z.strictObject({ broker: z.boolean() }).meta({ description: 'The observer: connected to the broker, its queue on every exchange consumed' }),
  ]),
});
export type Readiness = z.infer<typeof readinessSchema>;

// --- the admin API (only with ADMIN_TOKEN; `Authorization: Bearer <token>`) ---------------------

/** A failure group's id: the fingerprint of its failure (16 hex digits). */
export const deadLetterGroupIdSchema = z.string().regex(/^[0-9a-f]{16}$/, 'must be a group id: 16 hex digits');

/** POST /admin/dlq/replay and /admin/dlq/purge: every message, these ids, or one failure group. */
export const deadLetterSelectionSchema = z.union([
  z.strictObject({ all: z.literal(true) }),
  z.strictObject({ ids: z.array(z.string().min(1).max(200)).min(1).max(10_000) }),
  z.strictObject({ group: deadLetterGroupIdSchema.meta({ description: 'Every message of this failure group (GET /admin/dlq/groups)' }) }),
]);

/** GET /admin/dlq query. */
export const deadLetterListQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });

/** One message in a dead-letter queue, as GET /admin/dlq lists it. */
export const deadLetterSchema = z.object({
  id: z.string().meta({ description: 'The event id (AMQP messageId), or a hash of the body for a message that had none' }),
  type: z.string().optional(),
  queue: z.string().optional(),
  exchange: z.string().optional(),
  reason: z.enum(['poison', 'permanent', 'exhausted']).or(z.string()).optional(),
  error: z.string().optional(),
  errorName: z.string().optional().meta({ description: "The name of the handler's error (its class) when it was dead-lettered" }),
  attempts: z.int().optional(),
  firstFailureAt: z.string().optional(),
  lastFailureAt: z.string().optional(),
  replayCount: z.int().min(0),
  body: z.string().meta({ description: 'The body as text' }),
  headers: z.record(z.string(), z.unknown()),
});

export type DeadLetter = z.infer<typeof deadLetterSchema>;

/** GET /admin/dlq */
export const deadLetterListSchema = z.object({ count: z.int().min(0), messages: z.array(deadLetterSchema) });
export type DeadLetterList = z.infer<typeof deadLetterListSchema>;

/** GET /admin/dlq/groups query. */
export const deadLetterGroupsQuerySchema = z.object({ limit: z.coerce.number().int().min(1).max(1000).default(100) });

/** Dead letters that failed the same way: one service, one event type, one error class, one message but for its ids and numbers. */
export const deadLetterGroupSchema = z.object({
  id: deadLetterGroupIdSchema.meta({ description: 'The fingerprint of the failure: a hash of the service, event type, error class and normalised message' }),
  service: z.string(),
  type: z.string().meta({ description: 'The event type (unknown for poison that could not be read)' }),
  errorClass: z.string().meta({ description: "The handler error's name, else why it was dead-lettered: poison, permanent, exhausted, broker: <reason>" }),
  message: z.string().meta({ description: 'The error message with UUIDs, hex ids, numbers, times and quoted data replaced by placeholders (quoted names stay)' }),
  count: z.int().min(1),
  firstSeenAt: z.iso.datetime({ offset: true }).meta({ description: 'When the oldest of them was dead-lettered' }),
  lastSeenAt: z.iso.datetime({ offset: true }).meta({ description: 'When the newest of them was dead-lettered' }),
  replayCount: z.int().min(0).meta({ description: 'The highest replay count among them: a group that keeps coming back after replays shows it here' }),
  sample: deadLetterSchema.meta({ description: 'The newest of them, body included' }),
});
export type DeadLetterGroup = z.infer<typeof deadLetterGroupSchema>;

/** GET /admin/dlq/groups: the failure groups, the most recently seen first. */
export const deadLetterGroupListSchema = z.object({
  count: z.int().min(0).meta({ description: 'Dead letters in all' }),
  groups: z.array(deadLetterGroupSchema),
});
export type DeadLetterGroupList = z.infer<typeof deadLetterGroupListSchema>;

/** POST /admin/dlq/replay: each message sent back, and the queue it went to. */
export const deadLetterReplayResultSchema = z.object({ replayed: z.array(z.object({ id: z.string(), queue: z.string() })) });
export type DeadLetterReplayResult = z.infer<typeof deadLetterReplayResultSchema>;

/** POST /admin/dlq/purge: the ids deleted. */
export const deadLetterPurgeResultSchema = z.object({ purged: z.array(z.string()) });
export type DeadLetterPurgeResult = z.infer<typeof deadLetterPurgeResultSchema>;

/** One fault switch: a number in a range, off at its default. */
export const faultFlagSchema = z.object({
  description: z.string(),
  min: z.number(),
  max: z.number(),
  defaultValue: z.number().meta({ description: 'The value that means "no fault"' }),
  unit: z.enum(['ratio', 'ms']),
});
export type FaultFlag = z.infer<typeof faultFlagSchema>;

/** GET and PUT /admin/faults: every fault switch with its range and current value. */
export const faultFlagsSchema = z.object({ flags: z.record(z.string(), faultFlagSchema.extend({ value: z.number() })) });
export type FaultFlags = z.infer<typeof faultFlagsSchema>;

/** PUT /admin/faults body: any subset of the service's flags (each service checks names and ranges). */
export const faultChangeSchema = z.record(z.string(), z.number());
