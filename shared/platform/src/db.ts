import { runner } from 'node-pg-migrate';
import pg from 'pg';
import type { Logger } from 'pino';

export type { Pool, PoolClient } from 'pg';

export function createPool(connectionString: string, max: number, logger: Logger): pg.Pool {
  // pipeline: statements submitted together on one client go out without waiting for each
  // other's results (pg 8.23). The messaging library's transactions use it to send BEGIN with
  // their first statement and COMMIT with their last; code that awaits each query is unaffected.
  // Bounded waits: a database that is down, full or hung fails a request within seconds (503,
  // decision 0009) instead of holding it, and its connection is dropped rather than reused.
  const pool = new pg.Pool({
    connectionString,
    max,
    connectionTimeoutMillis: 5000,
    query_timeout: 10_000,
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
