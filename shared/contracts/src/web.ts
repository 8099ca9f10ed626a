import { z } from 'zod';
import { deadLetterGroupSchema, deadLetterSelectionSchema, errorSchema, failedAttemptListSchema, faultChangeSchema, faultFlagsSchema, notificationListSchema, orderListSchema, orderViewSchema } from './http';
import { gatewayEntrySchema } from './gateway';
import { observerInvariantsSchema, observerMapSchema, violationResolvedSchema, type ObserverInvariants, type ObserverMap } from './observer';
import { SERVICES } from './topology';

/**
 * The web front's own HTTP API (services/web, :8080): what the page asks for. It calls only the
 * four services' HTTP APIs, the card gateway's and the observer's, and answers with these shapes;
 * the OpenAPI document is generated from them.
 */

const service = z.enum(SERVICES);

/** GET /api/settings: what the page shows and links to. */
export const webSettingsSchema = z.object({
  admin: z.boolean().meta({ description: 'Whether ADMIN_TOKEN is set: dead letters and fault switches exist' }),
  jaegerUiUrl: z.string().nullable(),
  mailpitUrl: z.string().nullable(),
  catalogue: z.array(z.object({ sku: z.string(), name: z.string() })),
});
export type WebSettings = z.infer<typeof webSettingsSchema>;

/** POST /api/orders: the order service's answer, whole (its 202, or its 4xx naming the field). */
export const placedOrderSchema = z.object({
  status: z.int().meta({ description: "The order service's HTTP status" }),
  location: z.string().nullable().meta({ description: 'Its Location header' }),
  replayed: z.boolean().meta({ description: 'Idempotent-Replayed: true' }),
  body: z.union([orderViewSchema, errorSchema]).meta({ description: 'Its body: the order (202) or the error (4xx)' }),
});
export type PlacedOrder = z.infer<typeof placedOrderSchema>;

/** The data of each `orders` event of GET /api/orders/stream. */
export const ordersFeedEventSchema = orderListSchema.extend({
  available: z.boolean().meta({ description: 'false while the order service does not answer (orders is then empty)' }),
});
export type OrdersFeedEvent = z.infer<typeof ordersFeedEventSchema>;

/** One event in an order's journey. */
const hopSchema = z.object({
  type: z.string(),
  producer: z.enum([...SERVICES, 'unknown']),
  kind: z.enum(['start', 'progress', 'failure', 'compensation', 'notice']),
  at: z.iso.datetime(),
  sincePlacedMs: z.int().min(0),
  sinceLastMs: z.int().min(0).meta({ description: 'Since the event before' }),
});

const failedAttempt = failedAttemptListSchema.shape.failedAttempts.element;

/** A dead letter as the page shows it, with the order it was about. */
export const deadLetterViewSchema = z.object({
  service,
  id: z.string(),
  type: z.string().optional(),
  queue: z.string().optional(),
  reason: z.string().optional(),
  error: z.string().optional(),
  attempts: z.int().optional(),
  lastFailureAt: z.string().optional(),
  replayCount: z.int().min(0),
  orderId: z.string().optional(),
});

/** GET /api/orders/{orderId}/journey: one order's story across the four services. */
export const journeySchema = z.object({
  orderId: z.uuid(),
  status: orderViewSchema.shape.status,
  placedAt: z.iso.datetime(),
  items: orderViewSchema.shape.items,
  total: orderViewSchema.shape.total,
  outcome: z.enum(['completed', 'cancelled', 'in progress']),
  compensated: z.boolean().meta({ description: 'A compensation (a refund) happened' }),
  hops: z.array(hopSchema).meta({ description: 'Every event about the order, in the order it happened' }),
  failedAttempts: z
    .array(failedAttempt.omit({ failedAt: true }).extend({ service, at: z.iso.datetime(), sincePlacedMs: z.int().min(0) }))
    .meta({ description: "Every attempt at one of the order's messages that failed, in any service, oldest first: retried or dead-lettered (the error's message only for a request with the admin token)" }),
  traceId: z.string().nullable(),
  traceUrl: z.string().nullable(),
  notifications: z
    .array(notificationListSchema.shape.notifications.element.omit({ id: true, orderId: true }))
    .meta({ description: 'What the customer was told (without their address or the text)' }),
  deadLetters: z.array(deadLetterViewSchema).meta({ description: "The order's messages in dead-letter queues (only for a request with the admin token)" }),
  mailpitUrl: z.string().nullable(),
  gatewayEntries: z
    .array(gatewayEntrySchema.extend({ sincePlacedMs: z.int().min(0) }))
    .meta({ description: "The card gateway's charges and refunds for the order, from its own ledger, oldest first (empty while it does not answer)" }),
});
export type Journey = z.infer<typeof journeySchema>;
export type JourneyHop = Journey['hops'][number];
export type JourneyFailedAttempt = Journey['failedAttempts'][number];
export type JourneyNotification = Journey['notifications'][number];
export type DeadLetterView = z.infer<typeof deadLetterViewSchema>;

/** GET /api/stock: the catalogue's stock (null where inventory did not answer for a SKU). */
export const webStockSchema = z.object({
  stock: z.array(z.object({ sku: z.string(), name: z.string(), available: z.int().nullable(), reserved: z.int().nullable() })),
});
export type WebStock = z.infer<typeof webStockSchema>;

/** GET /api/admin/dead-letters: every service's dead letters, and its failure groups (its GET /admin/dlq/groups). */
export const webDeadLettersSchema = z.object({
  services: z.array(
    z.object({
      service,
      count: z.int().min(0),
      messages: z.array(deadLetterViewSchema),
      groups: z.array(deadLetterGroupSchema).meta({ description: 'The dead letters grouped by failure, the most recently seen first' }),
      available: z.boolean(),
      error: z.string().optional(),
      groupsError: z.string().optional().meta({ description: 'Why the groups are missing while the messages are shown (a service without GET /admin/dlq/groups answers 404)' }),
    }),
  ),
});
export type WebDeadLetters = z.infer<typeof webDeadLettersSchema>;

/** POST /api/admin/dead-letters/{service}/{replay|purge} body: passed to the service. */
export const webDeadLetterSelectionSchema = deadLetterSelectionSchema;

/** GET /api/admin/faults: the fault switches of the services that have them, and the card gateway's. */
export const webFaultsSchema = z.object({
  services: z.array(z.object({ service: z.enum([...SERVICES, 'gateway']), available: z.boolean(), flags: faultFlagsSchema.shape.flags, error: z.string().optional() })),
});
export type WebFaults = z.infer<typeof webFaultsSchema>;

/** PUT /api/admin/faults/{service} body: passed to the service, which checks names and ranges. */
export const webFaultChangeSchema = faultChangeSchema;

// The choreography map and the invariants: the observer's answers (services/observer), passed on
// as they are, so the page reads the same shapes an operator's script reads from the observer.

/** GET /api/map: the observer's GET /map, the choreography as the broker saw it in its window. */
export const webMapSchema = observerMapSchema;
export type WebMap = ObserverMap;

/** GET /api/invariants: the observer's GET /invariants, the cross-service rules it found broken. */
export const webInvariantsSchema = observerInvariantsSchema;
export type WebInvariants = ObserverInvariants;

/** POST /api/admin/invariants/{id}/resolve: the observer's answer. */
export const webInvariantResolvedSchema = violationResolvedSchema;
