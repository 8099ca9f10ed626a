import { z } from 'zod';
import { envelopeSchema } from './envelope';
import type { ServiceName } from './topology';

/** A SKU: upper-case letters, digits and dashes (SKU-TSHIRT). The one definition for every service. */
export const SKU_PATTERN = /^[A-Z0-9][A-Z0-9-]{0,63}$/;
export const skuSchema = z.string().regex(SKU_PATTERN, 'must be an upper-case SKU such as SKU-TSHIRT');
const sku = skuSchema;

/**
 * Free text from outside (a customer id, a payment token, a reason): valid Unicode, no control
 * characters. NUL
 * in particular cannot be stored in a Postgres text column, and the others have no business in
 * an id or a one-line reason.
 */
export const textSchema = (min: number, max: number) =>
  z
    .string()
    .trim()
    .min(min)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters')
    // A lone surrogate (\ud800; a pair is one code point to /u) is not text: Postgres refuses it in JSON.
    .regex(/^[^\p{Cs}]*$/u, 'must be valid Unicode text');
export const moneySchema = z.object({
  /** Integer minor units (cents): money is never a float. */
  amountCents: z.int().min(0),
  currency: z.string().regex(/^[A-Z]{3}$/),
});
const money = moneySchema;
const customer = z.object({ customerId: textSchema(1, 200), email: z.email() });
const lineItem = z.object({ sku, quantity: z.int().min(1).max(1_000), unitPriceCents: z.int().min(0) });

export const orderPlacedData = z.object({
  customer,
  items: z.array(lineItem).min(1).max(100),
  total: money,
  paymentMethod: z.object({ token: textSchema(1, 200) }),
});
export const paymentCompletedData = z.object({
  paymentId: z.uuid(),
  amount: money,
  customer,
  items: z.array(lineItem).min(1).max(100),
});
export const paymentFailedData = z.object({
  amount: money,
  customer,
  reason: textSchema(1, 500),
});
export const inventoryReservedData = z.object({
  reservationId: z.uuid(),
  customer,
  items: z.array(z.object({ sku, quantity: z.int().min(1) })).min(1),
});
export const inventoryRejectedData = z.object({
  customer,
  reason: textSchema(1, 500),
  unavailable: z.array(z.object({ sku, requested: z.int().min(1), available: z.int().min(0) })),
});
export const paymentRefundedData = z.object({
  paymentId: z.uuid(),
  amount: money,
  customer,
  reason: textSchema(1, 500),
});
/** How an order ended, as the customer is told it. */
export const notificationKindSchema = z.enum(['ORDER_CONFIRMED', 'PAYMENT_DECLINED', 'ORDER_CANCELLED_REFUNDED']);
export type NotificationKind = z.infer<typeof notificationKindSchema>;
export const notificationChannelSchema = z.enum(['email', 'log']);
export type NotificationChannel = z.infer<typeof notificationChannelSchema>;
export const notificationSentData = z.object({
  notificationId: z.uuid(),
  kind: notificationKindSchema,
  channel: notificationChannelSchema,
});

/**
 * Every event of the workflow: who publishes it and the schema of its `data`, per version.
 * Adding a version means adding a key here; consumers keep accepting the versions they know.
 */
export const eventCatalog = {
  OrderPlaced: { producer: 'order', versions: { 1: orderPlacedData } },
  PaymentCompleted: { producer: 'payment', versions: { 1: paymentCompletedData } },
  PaymentFailed: { producer: 'payment', versions: { 1: paymentFailedData } },
  PaymentRefunded: { producer: 'payment', versions: { 1: paymentRefundedData } },
  InventoryReserved: { producer: 'inventory', versions: { 1: inventoryReservedData } },
  InventoryRejected: { producer: 'inventory', versions: { 1: inventoryRejectedData } },
  NotificationSent: { producer: 'notification', versions: { 1: notificationSentData } },
} as const satisfies Record<string, { producer: ServiceName; versions: Record<number, z.ZodType> }>;

export type EventType = keyof typeof eventCatalog;
export const EVENT_TYPES = Object.keys(eventCatalog) as EventType[];

/** The current (latest) data shape of each event, as handlers see it. */
export type EventData = {
  [T in EventType]: z.infer<(typeof eventCatalog)[T]['versions'][1]>;
};

export interface TypedEvent<T extends EventType = EventType> {
  id: string;
  type: T;
  version: number;
  occurredAt: string;
  orderId: string;
  data: EventData[T];
}

export type AnyEvent = { [T in EventType]: TypedEvent<T> }[EventType];

export const isEventType = (type: string): type is EventType => Object.hasOwn(eventCatalog, type);

export type DecodeResult =
  | { ok: true; event: AnyEvent }
  | { ok: false; reason: string; unknownType?: string };

/**
 * Turns a message body into a typed, valid event, or says precisely why it is not one.
 * An unknown `type` is reported separately: it is someone else's event, not a poison message.
 */
export function decodeEvent(body: Buffer | string): DecodeResult {
  let json: unknown;
  try {
    json = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (error) {
    // V8's message quotes the body around the fault: where it is, and nothing of what it says,
    // goes into logs and headers (a body may hold a customer's data).
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    return { ok: false, reason: position === undefined ? 'body is not valid JSON' : `body is not valid JSON (at character ${position})` };
  }
  const envelope = envelopeSchema.safeParse(json);
  if (!envelope.success) return { ok: false, reason: `envelope: ${describeIssues(envelope.error)}` };
  const { type, version } = envelope.data;
  if (!isEventType(type)) return { ok: false, reason: `unknown event type ${type.slice(0, 64)}`, unknownType: type };
  const versions: Record<number, z.ZodType | undefined> = eventCatalog[type].versions;
  const schema = versions[version];
  if (!schema) return { ok: false, reason: `${type} version ${version} is not supported` };
  const data = schema.safeParse(envelope.data.data);
  if (!data.success) return { ok: false, reason: `${type}.data: ${describeIssues(data.error)}` };
  return { ok: true, event: { ...envelope.data, type, data: data.data } as AnyEvent };
}

/** `items.0.sku: must be ...; email: Invalid email` — short, field-first, no values echoed. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`)
    .join('; ');
}
