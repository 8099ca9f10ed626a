import { METRIC } from '@troupe/contracts';
import { Gauge, type Registry } from 'prom-client';
import type { Pool, PoolClient } from 'pg';
import type { OutboxEvent } from './event';

// The SQL of `troupe_outbox` (migrations/1763700000000_troupe-messaging.sql). A row is an
// `OutboxEvent`; its `id` column only orders the rows.

/** One round trip for any number of events. */
export async function insertOutboxRows(db: PoolClient, events: readonly OutboxEvent[]): Promise<void> {
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

// Claim the oldest unsent event of each order (never a later one while an earlier one is
// unsent), skipping rows another relay holds: replicas share the work and each order's events
// still leave in the order they were written. Which rows: this process's own deferred events ($4)
// at once, anyone else's only once they are $2 ms old (their writer is still publishing them, or
// crashed), and never one this process is publishing itself right now ($3).
const CLAIM = `
  SELECT o.event_id AS id, o.exchange, o.type, o.order_id AS "orderId", o.body, o.headers
    FROM troupe_outbox o
   WHERE NOT EXISTS (SELECT 1 FROM troupe_outbox e WHERE e.order_id = o.order_id AND e.id < o.id)
     AND (o.created_at <= now() - make_interval(secs => $2::float8 / 1000) OR o.event_id = ANY($4::uuid[]))
     AND NOT (o.event_id = ANY($3::uuid[]))
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE SKIP LOCKED`;

export interface ClaimOptions {
  limit: number;
  /** Other processes' rows are taken only this old. */
  sweepAfterMs: number;
  /** This process's events on their way out straight after their commit: never claimed. */
  publishing: Iterable<string>;
  /** This process's events left to the claim: taken at once. */
  deferred: Iterable<string>;
}

/** Locks and returns the rows to publish now, in the claiming transaction `db`. */
export async function claimOutboxRows(db: PoolClient, options: ClaimOptions): Promise<OutboxEvent[]> {
  const { rows } = await db.query<OutboxEvent>(CLAIM, [options.limit, options.sweepAfterMs, [...options.publishing], [...options.deferred]]);
  return rows;
}

/** Deletes the rows of these (confirmed) events. */
export async function deleteOutboxRows(db: PoolClient, ids: readonly string[]): Promise<void> {
  await db.query({ name: 'troupe-outbox-delete-sent', text: 'DELETE FROM troupe_outbox WHERE event_id = ANY($1::uuid[])', values: [ids] });
}

/** Which of these events still have a row. */
export async function outboxRowsPresent(pool: Pool, ids: readonly string[]): Promise<Set<string>> {
  const { rows } = await pool.query<{ event_id: string }>('SELECT event_id FROM troupe_outbox WHERE event_id = ANY($1::uuid[])', [ids]);
  return new Set(rows.map((r) => r.event_id));
}

/** `troupe_outbox_pending_messages` and `troupe_outbox_oldest_age_seconds`, read at each scrape. */
export function registerOutboxGauges(registry: Registry, pool: Pool): void {
  if (registry.getSingleMetric(METRIC.outboxPending)) return;
  const read = (sql: string) =>
    pool.query<{ value: number | null }>(sql).then(
      (r) => r.rows[0]?.value ?? 0,
      () => Number.NaN,
    );
  new Gauge({
    name: METRIC.outboxPending,
    help: 'Events committed to the outbox and not yet confirmed by the broker.',
    registers: [registry],
    async collect() {
      this.set(await read('SELECT count(*)::float8 AS value FROM troupe_outbox'));
    },
  });
  new Gauge({
    name: METRIC.outboxOldestAge,
    help: 'Age of the oldest event still waiting in the outbox (0 when empty).',
    registers: [registry],
    async collect() {
      this.set(await read('SELECT extract(epoch FROM now() - min(created_at))::float8 AS value FROM troupe_outbox'));
    },
  });
}
