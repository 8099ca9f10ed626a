import { randomUUID } from 'node:crypto';
import { eventCatalog, exchangeOf, type EventData, type EventType, type ServiceName } from '@troupe/contracts';
import { captureTraceHeaders, type TraceHeaders } from '../tracing';

/**
 * An event on its way out, in the one shape it has from staging to confirm: staged in a unit of
 * work, stored as an outbox row (the columns of `troupe_outbox`), published from memory or from
 * a claimed row.
 */
export interface OutboxEvent {
  /** The event id: the envelope's `id`, the AMQP `messageId`, the row's `event_id`. */
  id: string;
  exchange: string;
  type: string;
  orderId: string;
  /** The envelope as JSON. */
  body: string;
  /** The trace context of the work that staged it: its publish span belongs to that trace. */
  headers: TraceHeaders;
}

/**
 * Builds the envelope (docs/design.md "The envelope") of an event of `service`, validating it
 * against its contract first: a producer never emits what its consumers would dead-letter.
 */
export function stageEvent<T extends EventType>(service: ServiceName, type: T, orderId: string, data: EventData[T]): OutboxEvent {
  const entry = eventCatalog[type];
  if (entry.producer !== service) throw new Error(`${service} cannot publish ${type}: ${entry.producer} owns it`);
  const valid = entry.versions[1].parse(data);
  const id = randomUUID();
  const envelope = { id, type, version: 1, occurredAt: new Date().toISOString(), orderId, data: valid };
  return { id, exchange: exchangeOf(service), type, orderId, body: JSON.stringify(envelope), headers: captureTraceHeaders() };
}
