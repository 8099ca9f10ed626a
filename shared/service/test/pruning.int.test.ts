import { MIGRATIONS_DIR } from '@troupe/messaging';
import { createTestDatabase, query, type TestDatabase } from '@troupe/testing';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createPool, migrate } from '../src/db';
import { inboxPruning, pruneRound } from '../src/pruning';

const DAY = 86_400;
let db: TestDatabase;
let pool: pg.Pool;

beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'), 'pruning');
  await migrate(db.url, [MIGRATIONS_DIR], pino({ level: 'silent' }));
  pool = createPool(db.url, 4, pino({ level: 'silent' }));
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});
beforeEach(async () => {
  await query(db.url, 'TRUNCATE troupe_inbox');
});

/** `count` inbox rows processed `ageSeconds` ago. */
const processed = (count: number, ageSeconds: number) =>
  query(
    db.url,
    `INSERT INTO troupe_inbox (consumer, event_id, processed_at)
     SELECT 'payment.order.events', gen_random_uuid(), now() - make_interval(secs => $2) FROM generate_series(1, $1)`,
    [count, ageSeconds],
  );
const ages = async () =>
  (await query<{ old: number; recent: number }>(
    db.url,
    `SELECT count(*) FILTER (WHERE processed_at < now() - interval '7 days')::int AS old,
            count(*) FILTER (WHERE processed_at >= now() - interval '7 days')::int AS recent FROM troupe_inbox`,
  ))[0];

describe('pruning the inbox', () => {
  it('when rows are older than the retention, then only those are deleted, in batches of the configured size', async () => {
    await processed(2500, 8 * DAY);
    await processed(300, 6 * DAY);
    await processed(300, 60);

    const result = await pruneRound(pool, [inboxPruning(7 * DAY)], 1000);

    expect(result).toEqual({ ran: true, deleted: { troupe_inbox: { rows: 2500, batches: 3 } } });
    expect(await ages()).toEqual({ old: 0, recent: 600 });
  });

  it('when another replica holds the pruning lock, then the round is skipped', async () => {
    await processed(10, 8 * DAY);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock(hashtext('troupe-prune'))");
      expect(await pruneRound(pool, [inboxPruning(7 * DAY)], 1000)).toEqual({ ran: false, deleted: {} });
      expect(await ages()).toEqual({ old: 10, recent: 0 });
    } finally {
      await other.end();
    }
    // The lock went with the other session: the next round runs.
    expect((await pruneRound(pool, [inboxPruning(7 * DAY)], 1000)).deleted).toEqual({ troupe_inbox: { rows: 10, batches: 1 } });
  });

  it('when a transaction holds an old row, then the round deletes the others without waiting for it', async () => {
    await processed(5, 8 * DAY);
    const holder = new pg.Client({ connectionString: db.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM troupe_inbox WHERE ctid = (SELECT min(ctid) FROM troupe_inbox) FOR UPDATE');
      const started = performance.now();
      const result = await pruneRound(pool, [inboxPruning(7 * DAY)], 1000);
      expect(performance.now() - started).toBeLessThan(2000);
      expect(result.deleted).toEqual({ troupe_inbox: { rows: 4, batches: 1 } });
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    expect(await ages()).toEqual({ old: 1, recent: 0 });
  });

  it('when the inbox is large, then a batch finds its rows by index, not by reading the table', async () => {
    await query(
      db.url,
      `INSERT INTO troupe_inbox (consumer, event_id, processed_at)
       SELECT 'payment.order.events', gen_random_uuid(), now() - make_interval(secs => i % (30 * 86400)) FROM generate_series(1, 200000) AS i`,
    );
    await query(db.url, 'ANALYZE troupe_inbox');
    const plan = async (sql: string, values: unknown[]) =>
      (await query<{ 'QUERY PLAN': string }>(db.url, `EXPLAIN ${sql}`, values)).map((r) => r['QUERY PLAN']).join('\n');

    const pruning = inboxPruning(7 * DAY);
    expect(await plan(`DELETE FROM troupe_inbox WHERE ctid = ANY(ARRAY(${pruning.select}))`, [1000, ...(pruning.values ?? [])])).toMatch(
      /Index Scan using troupe_inbox_processed_at_idx/,
    );
  }, 120_000);
});
