import { randomUUID } from 'node:crypto';
import { eventCatalog, exchangeOf, type EventData, type EventType, type ServiceName } from '@troupe/contracts';
import type { Pool, PoolClient } from 'pg';
import { captureTraceHeaders, type TraceHeaders } from './tracing';
import { withTransaction } from './transaction';

/** An event waiting to be written to the outbox with the transaction that caused it. */
export interface StagedEvent {
  id: string;
  exchange: string;
  type: EventType;
  orderId: string;
  body: string;
  headers: TraceHeaders;
}

/** What a use case gets: the transaction, and `publish`, which only ever writes to the outbox. */
export interface UnitOfWork {
  /** A client inside the open transaction: everything done through it commits or rolls back together. */
  readonly db: PoolClient;
  /** Records an event to publish once the transaction commits; returns its event id. */
  publish<T extends EventType>(type: T, orderId: string, data: EventData[T]): string;
  /** Runs `callback` once the transaction has committed (metrics, caches); never if it rolls back. */
  onCommit(callback: () => void): void;
}

/**
 * Builds the envelope (docs/design.md "The envelope") of an event of `service`, validating it
 * against its contract first: a producer never emits what its consumers would dead-letter.
 */
export function stageEvent<T extends EventType>(
  service: ServiceName,
  type: T,
  orderId: string,
  data: EventData[T],
  headers: TraceHeaders = captureTraceHeaders(),
): StagedEvent {
  const entry = eventCatalog[type];
  if (entry.producer !== service) throw new Error(`${service} cannot publish ${type}: ${entry.producer} owns it`);
  const valid = entry.versions[1].parse(data);
  const id = randomUUID();
  const envelope = { id, type, version: 1, occurredAt: new Date().toISOString(), orderId, data: valid };
  return { id, exchange: exchangeOf(service), type, orderId, body: JSON.stringify(envelope), headers };
}

/** One round trip for any number of events. */
export async function insertOutboxRows(db: PoolClient, events: readonly StagedEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.query({
    name: 'troupe-outbox-insert',
    text: `INSERT INTO troupe_outbox (event_id, exchange, type, order_id, body, headers)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::jsonb[])`,
    values: [
      events.map((e) => e.id),
      events.map((e) => e.exchange),
      events.map((e) => e.type),
      events.map((e) => e.orderId),
      events.map((e) => e.body),
      events.map((e) => JSON.stringify(e.headers)),
    ],
  });
}

export function createUnitOfWork(
  service: ServiceName,
  db: PoolClient,
  staged: StagedEvent[],
  committed: (() => void)[],
): UnitOfWork {
  return {
    db,
    onCommit: (callback) => committed.push(callback),
    publish(type, orderId, data) {
      const event = stageEvent(service, type, orderId, data);
      staged.push(event);
      return event.id;
    },
  };
}

/**
 * Runs `work` in one transaction together with the outbox rows it publishes (the transactional
 * outbox: the change and its events commit or vanish together), then calls `afterCommit`.
 */
export async function runUnitOfWork<R>(
  pool: Pool,
  service: ServiceName,
  work: (uow: UnitOfWork) => Promise<R>,
  afterCommit: (events: StagedEvent[]) => void,
): Promise<R> {
  const staged: StagedEvent[] = [];
  const committed: (() => void)[] = [];
  const result = await withTransaction(
    pool,
    (db) => work(createUnitOfWork(service, db, staged, committed)),
    (db) => insertOutboxRows(db, staged),
  );
  if (staged.length > 0) afterCommit(staged);
  runCallbacks(committed);
  return result;
}

export function runCallbacks(callbacks: readonly (() => void)[]): void {
  for (const callback of callbacks) {
    try {
      callback();
    } catch {
      // after-commit work is best effort (metrics); it must not turn a success into a failure
    }
  }
}
