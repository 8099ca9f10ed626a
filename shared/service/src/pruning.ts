import { METRIC } from '@troupe/contracts';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { Counter, type Registry } from 'prom-client';

/**
 * Rows that exist only for deduplication, deleted once they can no longer deduplicate anything.
 * `select` is a query returning the `ctid`s of up to `$1` such rows; it must take the rows
 * `FOR UPDATE SKIP LOCKED`, so a batch never waits on a row a request or handler holds.
 */
export interface PruneTask {
  /** The table, as the metric and the log name it. */
  table: string;
  select: string;
  /** Parameters of `select` from `$2` on. */
  values?: readonly unknown[];
}

/** `table`'s rows whose `column` (a time, indexed) is older than `retentionSeconds`. */
export const olderThanPruning = (table: string, column: string, retentionSeconds: number): PruneTask => ({
  table,
  select: `SELECT ctid FROM ${table} WHERE ${column} < now() - make_interval(secs => $2)
            ORDER BY ${column} LIMIT $1 FOR UPDATE SKIP LOCKED`,
  values: [retentionSeconds],
});

/** The inbox's rows older than the retention (docs/design.md "Exactly-once effects"). */
export const inboxPruning = (retentionSeconds: number): PruneTask => olderThanPruning('troupe_inbox', 'processed_at', retentionSeconds);

/**
 * The record of failed attempts (what an order's journey shows of its retries), kept as long as
 * the inbox's rows: past that, a copy of the event could no longer be told from a new one anyway.
 */
export const failedAttemptsPruning = (retentionSeconds: number): PruneTask =>
  olderThanPruning('troupe_failed_attempts', 'failed_at', retentionSeconds);

export interface PruneOptions {
  pool: Pool;
  logger: Logger;
  registry: Registry;
  tasks: readonly PruneTask[];
  intervalMs: number;
  batchSize: number;
}

export interface RoundResult {
  /** False when another replica held the lock, so this round did nothing. */
  ran: boolean;
  /** Rows deleted per table, and the batches (statements) it took. */
  deleted: Record<string, { rows: number; batches: number }>;
}

// One lock for all of a database's pruning: replicas sharing a database take turns, never race.
const LOCK = "hashtext('troupe-prune')";
// A round stops after this many batches and leaves the rest to the next one, so a large backlog
// (the first round after a long outage) is worked off as many short rounds.
const MAX_BATCHES_PER_ROUND = 100;

/**
 * One pruning round: skipped if another replica holds the advisory lock; else each task deletes
 * in batches of `batchSize`, each batch its own short transaction (row locks only, released at
 * once), until a batch comes back short.
 */
export async function pruneRound(pool: Pool, tasks: readonly PruneTask[], batchSize: number): Promise<RoundResult> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    const { rows } = await client.query<{ locked: boolean }>(`SELECT pg_try_advisory_lock(${LOCK}) AS locked`);
    if (!rows[0]?.locked) return { ran: false, deleted: {} };
    try {
      const deleted: RoundResult['deleted'] = {};
      for (const task of tasks) deleted[task.table] = await pruneTable(client, task, batchSize);
      return { ran: true, deleted };
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${LOCK})`);
    }
  } catch (error) {
    // A session lock must not go back to the pool with the connection: drop the connection.
    broken = error as Error;
    throw error;
  } finally {
    client.release(broken);
  }
}

async function pruneTable(client: PoolClient, task: PruneTask, batchSize: number) {
  let rows = 0;
  let batches = 0;
  while (batches < MAX_BATCHES_PER_ROUND) {
    const result = await client.query(`DELETE FROM ${task.table} WHERE ctid = ANY(ARRAY(${task.select}))`, [batchSize, ...(task.values ?? [])]);
    batches += 1;
    rows += result.rowCount ?? 0;
    if ((result.rowCount ?? 0) < batchSize) break;
    // Let the hot path's queries go first between two batches.
    await new Promise((resolve) => setImmediate(resolve));
  }
  return { rows, batches };
}

/** Runs `pruneRound` every `intervalMs` (first round one interval after start); returns `stop`. */
export function startPruning(options: PruneOptions): { stop: () => Promise<void> } {
  const { pool, logger, registry, tasks, intervalMs, batchSize } = options;
  const pruned = new Counter({
    name: METRIC.prunedRows,
    help: 'Rows deleted by the pruning of deduplication records, by table.',
    labelNames: ['table'],
    registers: [registry],
  });
  let running: Promise<void> | undefined;
  const round = async () => {
    try {
      const result = await pruneRound(pool, tasks, batchSize);
      for (const [table, { rows, batches }] of Object.entries(result.deleted)) {
        pruned.inc({ table }, rows);
        if (rows > 0) logger.info({ table, rows, batches }, 'pruned deduplication records');
      }
    } catch (error) {
      // The next round tries again; an outage is reported by the consumers, not here.
      logger.warn({ err: (error as Error).message }, 'pruning round failed');
    }
  };
  const timer = setInterval(() => {
    running ??= round().finally(() => (running = undefined));
  }, intervalMs);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
