import { decodeEvent, type AnyEvent, type DecodeResult, type EventType } from '@troupe/contracts';
import type { Context, Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Delivery } from './delivery';
import type { Handler } from './handler';
import { HEADER, numberHeader } from '../headers';
import type { MessagingMetrics } from '../metrics';
import { startProcessSpan } from '../tracing';

/** A valid event with a handler here, ready to run: everything its run and its settling need. */
export interface Job {
  delivery: Delivery;
  event: AnyEvent;
  handler: Handler<EventType>;
  attempt: number;
  span: Span;
  ctx: Context;
  log: Logger;
  started: number;
}

/** What a delivery turned out to be before any handler ran. */
export type Triage =
  | { kind: 'job'; job: Job }
  /** An event type this service does not know, or has no handler for: acked and counted. */
  | { kind: 'ignored'; type: string }
  /** Not JSON, a bad envelope, an unsupported version, data breaking its schema. */
  | { kind: 'poison'; reason: string };

export interface TriageDeps {
  logger: Logger;
  metrics: MessagingMetrics;
}

/**
 * Decodes a message body of at most `maxBytes`; a bigger one is poison, unread. Parsing is what
 * the limit saves: a body turns into several times its size of objects, and every prefetched
 * message is decoded as it arrives (decision 0025).
 */
export function decodeWithin(body: Buffer, maxBytes: number): DecodeResult {
  if (body.length > maxBytes) return { ok: false, reason: `body of ${body.length} bytes is over the ${maxBytes}-byte limit; not read` };
  return decodeEvent(body);
}

/** Decode and route: a job for its handler (its process span started), or what to settle at once. */
export function triage(delivery: Delivery, { logger, metrics }: TriageDeps): Triage {
  const { message, decoded, queue } = delivery;
  if (!decoded.ok) {
    return decoded.unknownType !== undefined ? { kind: 'ignored', type: 'unknown' } : { kind: 'poison', reason: decoded.reason };
  }
  const event = decoded.event;
  const handler = delivery.subscription.handlers[event.type] as Handler<EventType> | undefined;
  if (!handler) return { kind: 'ignored', type: event.type };
  const attempt = numberHeader(message.properties, HEADER.attempt) ?? 1;
  if (attempt === 1 && numberHeader(message.properties, HEADER.replayCount) !== undefined) metrics.replayed.inc({ queue });
  const { span, ctx } = startProcessSpan(message.properties.headers, queue, event.id, event.type, attempt);
  span.setAttribute('troupe.order_id', event.orderId);
  const log = logger.child({ queue, eventId: event.id, type: event.type, orderId: event.orderId, attempt });
  return { kind: 'job', job: { delivery, event, handler, attempt, span, ctx, log, started: performance.now() } };
}
