import type { ConsumeMessage } from 'amqplib';
import type { OrderEvent } from './domain/orders';
import type { Seen } from './domain/traffic';

/** A message off an exchange, read as far as it lets itself be: what the map and the invariants need. */
export interface ReadMessage {
  seen: Seen;
  /** The event, when the envelope carries an id and an order id. */
  event: OrderEvent | undefined;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Reads `message` from `exchange`; never throws (a body that is not JSON is a type `(none)` seen). */
export function readMessage(exchange: string, message: ConsumeMessage, atMs: number): ReadMessage {
  const body = message.content.toString('utf8');
  let envelope: Json = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (isObject(parsed)) envelope = parsed;
  } catch {
    // not JSON: judged by its AMQP properties alone
  }
  const property = message.properties.type as unknown;
  const type = typeof envelope.type === 'string' && envelope.type !== '' ? envelope.type.slice(0, 100) : typeof property === 'string' && property !== '' ? property.slice(0, 100) : '(none)';
  const version = Number.isInteger(envelope.version) ? (envelope.version as number) : undefined;
  const seen: Seen = { exchange, type, version, body, atMs };
  const { id, orderId } = envelope;
  if (typeof id !== 'string' || typeof orderId !== 'string' || !UUID.test(orderId) || id.length > 200) return { seen, event: undefined };
  const data = isObject(envelope.data) ? envelope.data : {};
  const event: OrderEvent = { id, type, orderId: orderId.toLowerCase() };
  if (typeof data.kind === 'string') event.kind = data.kind;
  const occurredAtMs = typeof envelope.occurredAt === 'string' ? Date.parse(envelope.occurredAt) : NaN;
  if (Number.isFinite(occurredAtMs)) event.occurredAtMs = occurredAtMs;
  if (Array.isArray(data.items)) {
    event.items = data.items.flatMap((item) => (isObject(item) && typeof item.sku === 'string' && Number.isInteger(item.quantity) ? [{ sku: item.sku, quantity: item.quantity as number }] : []));
  }
  return { seen, event };
}
