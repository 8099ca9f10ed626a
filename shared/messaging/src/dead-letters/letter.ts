import { createHash } from 'node:crypto';
import type { DeadLetter } from '@troupe/contracts';
import type { MessageProperties } from 'amqplib';
import { HEADER, numberHeader, stringHeader } from '../headers';

/** What a dead letter is made of: its AMQP properties and its body, as the broker delivered them. */
export interface StoredMessage {
  properties: MessageProperties;
  content: Buffer;
}

export function describeDeadLetter(message: StoredMessage): DeadLetter {
  const p = message.properties;
  // A message the broker dead-lettered itself (delivery limit) carries x-first-death-* instead of ours.
  const brokerQueue = stringHeader(p, 'x-first-death-queue');
  return {
    id: deadLetterId(message),
    type: typeof p.type === 'string' ? p.type : undefined,
    queue: stringHeader(p, HEADER.originalQueue) ?? brokerQueue,
    exchange: stringHeader(p, HEADER.originalExchange) ?? stringHeader(p, 'x-first-death-exchange'),
    reason: stringHeader(p, HEADER.deadLetterReason) ?? (brokerQueue ? `broker: ${stringHeader(p, 'x-first-death-reason') ?? 'unknown'}` : undefined),
    error: stringHeader(p, HEADER.error),
    errorName: stringHeader(p, HEADER.errorName),
    attempts: numberHeader(p, HEADER.attempt),
    firstFailureAt: stringHeader(p, HEADER.firstFailureAt),
    lastFailureAt: stringHeader(p, HEADER.lastFailureAt),
    replayCount: numberHeader(p, HEADER.replayCount) ?? 0,
    body: message.content.toString('utf8'),
    headers: p.headers ?? {},
  };
}

/** The event id, or for a message that has none a hash of its body and headers (two poison messages with one body stay two). */
export function deadLetterId(message: StoredMessage): string {
  const id = message.properties.messageId;
  if (typeof id === 'string' && id.length > 0) return id;
  const { 'x-delivery-count': _count, ...headers } = message.properties.headers ?? {};
  return `sha256:${createHash('sha256').update(message.content).update(JSON.stringify(headers)).digest('hex').slice(0, 16)}`;
}

/** AMQP properties as stored: JSON, with a Buffer header (AMQP byte array) as `{type: 'Buffer', data}`. */
const fromStored = (text: string): MessageProperties =>
  JSON.parse(text, (_key, value: unknown) =>
    value && typeof value === 'object' && (value as { type?: unknown }).type === 'Buffer' && Array.isArray((value as { data?: unknown }).data)
      ? Buffer.from((value as { data: number[] }).data)
      : value,
  ) as MessageProperties;

/** A row of `troupe_dead_letters` as `COLUMNS` reads it. */
export interface Row {
  id: string;
  replay_count: number;
  properties: string;
  body: Buffer;
}

export const COLUMNS = 'id, replay_count, properties::text AS properties, body';
export const asMessage = (row: Row): StoredMessage => ({ properties: fromStored(row.properties), content: row.body });
