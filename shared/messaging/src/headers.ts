import type { Message, MessageProperties, Options } from 'amqplib';
import { HEADER } from '@troupe/contracts';

/** Headers the library adds to retried and dead-lettered messages (shown by `troupe dlq show`). */
export { HEADER };

export type DeadLetterReason = 'poison' | 'permanent' | 'exhausted';

// Headers the broker adds when it dead-letters (our wait queues do, every retry): dropped on
// republish so they do not pile up, and because 4.x ignores client-set x-death anyway.
const BROKER_DEATH_HEADERS = new Set([
  'x-death',
  'x-first-death-exchange',
  'x-first-death-queue',
  'x-first-death-reason',
  'x-last-death-exchange',
  'x-last-death-queue',
  'x-last-death-reason',
  'x-delivery-count',
]);

export function copyHeaders(properties: MessageProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(properties.headers ?? {})) {
    if (!BROKER_DEATH_HEADERS.has(key)) out[key] = value;
  }
  return out;
}

/** Options to send a received message on unchanged (persistent, same id, type and timestamp), with `headers`. */
export function forwardOptions(properties: MessageProperties, headers: Record<string, unknown>): Options.Publish {
  return {
    persistent: true,
    contentType: properties.contentType ?? 'application/json',
    messageId: properties.messageId,
    type: properties.type,
    timestamp: properties.timestamp,
    headers,
  };
}

/** Larger than any count troupe keeps, and than what a Postgres integer column holds. */
const MAX_COUNT = 1_000_000;

export function numberHeader(properties: MessageProperties, name: string): number | undefined {
  const raw = properties.headers?.[name];
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' ? Number(raw) : Number.NaN;
  return Number.isInteger(value) && value > 0 ? Math.min(value, MAX_COUNT) : undefined;
}

// The counts the library keeps in a message's headers: it reads them only on copies it sent itself.
const COUNTERS = [HEADER.attempt, HEADER.replayCount, HEADER.handBacks];

/**
 * Drops the library's counters from a message that did not come through the service's own
 * exchange (retries, hand-backs and replays all do): a producer cannot make a message look like
 * its fifth attempt, and so dead-letter it at its first failure.
 */
export function forgetForeignCounters(message: Message, ownExchange: string): void {
  const headers = message.properties.headers;
  if (!headers || message.fields.exchange === ownExchange) return;
  for (const name of COUNTERS) delete headers[name];
}

export function stringHeader(properties: MessageProperties, name: string): string | undefined {
  const raw = properties.headers?.[name];
  if (typeof raw === 'string') return raw;
  if (Buffer.isBuffer(raw)) return raw.toString('utf8');
  return undefined;
}
