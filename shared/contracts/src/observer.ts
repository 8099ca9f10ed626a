import { z } from 'zod';

/**
 * The observer's HTTP API (services/observer, :3005): the choreography seen whole, for operators.
 * It reads the AsyncAPI document for what should flow, the four fanout exchanges for what does,
 * and the services' operator reads for what they hold; these are the shapes of its answers.
 */

/** The business rules the observer checks over its window of orders (docs/decisions/0030). */
export const OBSERVER_INVARIANTS = ['order-settles', 'events-consistent', 'stock-matches', 'one-charge-per-paid-order'] as const;
export type ObserverInvariant = (typeof OBSERVER_INVARIANTS)[number];

/** What the observer sees that the contract does not say. */
export const DRIFT_KINDS = ['undeclared-type', 'unknown-version', 'undeclared-subscription', 'silent-edge'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

/** The longest sample of a message kept with a drift entry. */
export const DRIFT_SAMPLE_MAX_CHARS = 500;

const at = z.iso.datetime();

export const mapServiceSchema = z.object({
  name: z.string().meta({ description: 'A service the AsyncAPI document names' }),
  ready: z.boolean().nullable().meta({ description: 'Its GET /readyz: 200 true, 503 false, no answer null' }),
  deadLetters: z.int().min(0).nullable().meta({ description: 'Messages in its dead letters (GET /dead-letters/count); null when it did not answer' }),
});

export const mapExchangeSchema = z.object({
  name: z.string(),
  producer: z.string().meta({ description: 'The service the contract says publishes on it (x-troupe-service)' }),
  declared: z.boolean().meta({ description: 'A channel of the AsyncAPI document' }),
});

export const mapEdgeSchema = z.object({
  id: z.string().meta({ description: '`<exchange>/<type>/<subscriber>`' }),
  exchange: z.string(),
  producer: z.string(),
  type: z.string(),
  subscriber: z.string().meta({ description: 'An undeclared type reaches every queue bound to the fanout exchange: one edge to each subscriber the contract names there' }),
  queue: z.string(),
  declared: z.boolean().meta({ description: 'The contract says the subscriber receives this type (false: a type seen on the exchange that the contract does not carry there)' }),
  perMinute: z.int().min(0).meta({ description: 'Messages of this type on the exchange in the last 60 s' }),
  lastSeenAt: at.nullable(),
  silent: z.boolean().meta({ description: 'Declared, and no message of its type in the silence window while orders were placed' }),
});

export const mapSubscriptionSchema = z.object({
  queue: z.string(),
  service: z.string(),
  exchange: z.string(),
  declared: z.boolean().meta({ description: 'The contract lists this exchange for this service (x-troupe-queue)' }),
  ready: z.int().min(0).nullable().meta({ description: "Messages waiting in the queue (the broker's answer to a passive declare); null when not known" }),
  unacked: z.int().min(0).nullable().meta({ description: "Messages the service has taken and not yet settled (its /readyz); null when not known" }),
  consuming: z.boolean().nullable().meta({ description: 'The service says it consumes (its /readyz); null when it did not answer' }),
  pausedBy: z.array(z.string()),
  consumers: z.int().min(0).nullable().meta({ description: 'Consumers on the queue, as the broker counts them' }),
});

export const driftSchema = z.object({
  kind: z.enum(DRIFT_KINDS),
  exchange: z.string(),
  type: z.string().optional(),
  version: z.int().optional(),
  queue: z.string().optional(),
  count: z.int().min(0),
  firstSeenAt: at,
  lastSeenAt: at,
  sample: z.string().max(DRIFT_SAMPLE_MAX_CHARS).optional().meta({ description: `The latest such message's body, at most ${DRIFT_SAMPLE_MAX_CHARS} characters; present only for a request with the admin token (a body can carry personal data)` }),
});
export type Drift = z.infer<typeof driftSchema>;

/** GET /map: the services, exchanges and edges the AsyncAPI document declares, with live traffic and drift. */
export const observerMapSchema = z.object({
  generatedAt: at,
  windowMs: z.int().min(0),
  services: z.array(mapServiceSchema),
  exchanges: z.array(mapExchangeSchema),
  edges: z.array(mapEdgeSchema),
  subscriptions: z.array(mapSubscriptionSchema),
  drift: z.array(driftSchema),
  ordersPerMinute: z.int().min(0),
});
export type ObserverMap = z.infer<typeof observerMapSchema>;
export type MapEdge = z.infer<typeof mapEdgeSchema>;
export type MapSubscription = z.infer<typeof mapSubscriptionSchema>;
export type MapService = z.infer<typeof mapServiceSchema>;
export type MapExchange = z.infer<typeof mapExchangeSchema>;

export const violationSchema = z.object({
  id: z.string(),
  invariant: z.enum(OBSERVER_INVARIANTS),
  orderId: z.uuid().optional(),
  sku: z.string().optional(),
  traceId: z.string().optional().meta({ description: "The order's trace (GET /orders/{id}), when the order service gave it" }),
  detail: z.string(),
  foundAt: at,
});
export type Violation = z.infer<typeof violationSchema>;

/** GET /invariants: the open violations, and how many were found since the observer started. */
export const observerInvariantsSchema = z.object({
  checkedAt: at,
  settleWithinMs: z.int().min(0),
  windowMs: z.int().min(0),
  open: z.array(violationSchema),
  found: z.object(Object.fromEntries(OBSERVER_INVARIANTS.map((name) => [name, z.int().min(0)])) as Record<ObserverInvariant, z.ZodInt>),
  stock: z
    .array(z.object({ sku: z.string(), reservedSeen: z.int().min(0), baselineTaken: z.boolean(), lastJudgedAt: at.nullable().meta({ description: 'When the latest read judged against the events was sent' }) }))
    .meta({ description: '`stock-matches`: each SKU seen in an InventoryReserved, the quantities seen, and whether its baseline was taken (a quiet moment is needed first)' }),
  orders: z.int().min(0).meta({ description: 'Orders in the window' }),
});
export type ObserverInvariants = z.infer<typeof observerInvariantsSchema>;

/** POST /admin/invariants/{id}/resolve */
export const violationResolvedSchema = z.object({ resolved: z.string() });
export type ViolationResolved = z.infer<typeof violationResolvedSchema>;

/**
 * GET /dead-letters/count (every service, an operator's read): how many dead letters it keeps; with
 * `?orderId=`, how many of them are about that order (the observer's `order-settles` leaves an
 * order alone while one of its messages waits there).
 */
export const deadLetterCountSchema = z.object({ count: z.int().min(0) });
export const deadLetterCountQuerySchema = z.object({ orderId: z.uuid('must be an order id (UUID)').optional() }).strict();
export type DeadLetterCount = z.infer<typeof deadLetterCountSchema>;
