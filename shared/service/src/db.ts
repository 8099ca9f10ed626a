import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { Logger } from 'pino';

export type { Pool, PoolClient } from 'pg';

/** How long this process waits for one statement's result before giving up on its connection. */
export const QUERY_TIMEOUT_MS = 10_000;

/** The server's own bounds on each session of the pool (see `createPool`). */
export interface ServerTimeouts {
  /** `statement_timeout`: the server cancels a statement running this long. */
  statementTimeoutMs: number;
  /** `idle_in_transaction_session_timeout`: the server ends a session idle this long inside a transaction. */
  idleInTransactionTimeoutMs: number;
}

export const DEFAULT_SERVER_TIMEOUTS: ServerTimeouts = { statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 60_000 };

export function createPool(connectionString: string, max: number, logger: Logger, timeouts: ServerTimeouts = DEFAULT_SERVER_TIMEOUTS): pg.Pool {
  // pipeline: statements submitted together on one client go out without waiting for each
  // other's results (pg 8.23). The messaging library's transactions use it to send BEGIN with
  // their first statement and COMMIT with their last; code that awaits each query is unaffected.
  // Bounded waits: a database that is down, full or hung fails a request within seconds (503,
  // decision 0009) instead of holding it, and its connection is dropped rather than reused.
  // The server bounds its side too (decision 0025): a statement this process gave up on, or a
  // transaction left open by a call that never returned, would otherwise run or hold its locks
  // until the connection is noticed gone. Sent as startup parameters, so they hold for every
  // statement of every session, whatever runs it.
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    query_timeout: QUERY_TIMEOUT_MS,
    statement_timeout: timeouts.statementTimeoutMs,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeoutMs,
    idleTimeoutMillis: 30_000,
    pipeline: true,
  });
  // An idle client losing its connection emits here; unhandled it would crash the process.
  pool.on('error', (error) => logger.warn({ err: error.message }, 'idle database connection lost'));
  return pool;
}

/**
 * Applies pending migrations (the messaging library's inbox/outbox first, then the service's
 * own), under node-pg-migrate's advisory lock: replicas starting together wait for each other.
 */
export async function migrate(connectionString: string, dirs: string[], logger: Logger): Promise<void> {
  const applied = await runner({
    databaseUrl: connectionString,
    dir: dirs.map((dir) => `${dir}/*.sql`),
    useGlob: true,
    ignorePattern: '**/*.md',
    direction: 'up',
    migrationsTable: 'pgmigrations',
    checkOrder: true,
    // Replicas starting together: the others wait for the first to finish, then find nothing to do.
    advisoryLockMode: 'wait',
    log: () => undefined,
  });
  if (applied.length > 0) logger.info({ migrations: applied.map((m) => m.name) }, 'database migrated');
}
