import { createTestDatabase, type TestDatabase } from '@troupe/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createPool, type Pool } from '../src/db';

let db: TestDatabase;
const pools: Pool[] = [];
beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'), 'db-bounds');
});
afterAll(async () => {
  await Promise.all(pools.map((pool) => pool.end()));
  await db?.drop();
});

const logger = pino({ level: 'silent' });
const poolWith = (timeouts?: { statementTimeoutMs: number; idleInTransactionTimeoutMs: number }) => {
  const pool = createPool(db.url, 2, logger, timeouts);
  pools.push(pool);
  return pool;
};
const setting = async (pool: Pool, name: string) => (await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]?.[name];

describe("the server's own bounds on every session of a service's pool", () => {
  it('when nothing is configured, then every session runs with a 30 s statement timeout and a 60 s idle-in-transaction timeout', async () => {
    const pool = poolWith();
    expect([await setting(pool, 'statement_timeout'), await setting(pool, 'idle_in_transaction_session_timeout')]).toEqual(['30s', '1min']);
  });

  it('when a statement runs past the bound, then the server cancels it (57014)', async () => {
    const pool = poolWith({ statementTimeoutMs: 300, idleInTransactionTimeoutMs: 5_000 });
    const started = Date.now();
    await expect(pool.query('SELECT pg_sleep(5)')).rejects.toMatchObject({ code: '57014' });
    expect(Date.now() - started).toBeLessThan(4_000);
  });

  it('when a transaction is left idle past the bound, then the server ends the session and its locks go with it', async () => {
    const pool = poolWith({ statementTimeoutMs: 5_000, idleInTransactionTimeoutMs: 300 });
    await pool.query('CREATE TABLE IF NOT EXISTS bounded (id int PRIMARY KEY)');
    await pool.query('INSERT INTO bounded VALUES (1) ON CONFLICT DO NOTHING');
    const client = await pool.connect();
    const ended = new Promise<Error>((resolve) => client.once('error', resolve));
    await client.query('BEGIN');
    await client.query('SELECT * FROM bounded WHERE id = 1 FOR UPDATE');
    // Nothing more is sent: the server, not this process, ends the transaction.
    const error = await ended;
    expect(error.message).toMatch(/idle-in-transaction timeout|terminat/i);
    client.release(error);
    // The row it locked is free again for another session.
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query("SET LOCAL lock_timeout = '1s'");
      expect((await other.query('SELECT id FROM bounded WHERE id = 1 FOR UPDATE')).rowCount).toBe(1);
      await other.query('COMMIT');
    } finally {
      other.release();
    }
  });
});
