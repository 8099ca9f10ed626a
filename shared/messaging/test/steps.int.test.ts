import { createTestDatabase, type TestDatabase } from '@troupe/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withTransaction } from '../src/transaction';
import { runSteps } from '../src/unit-of-work/steps';
import type { TransactionUnitOfWork } from '../src/unit-of-work/unit-of-work';

// Steps on a real, pipelined connection, as the services run them: a step that throws is rolled
// back alone, and one that left the transaction failed (an error caught and ignored) fails it whole,
// never rolled back to (decision 0023).
let db: TestDatabase;
let pool: pg.Pool;
beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'), 'steps');
  pool = new pg.Pool({ connectionString: db.url, max: 2, pipeline: true });
  await pool.query('CREATE TABLE written (step text PRIMARY KEY)');
});
afterAll(async () => {
  await pool?.end();
  await db?.drop();
});

type Step = 'write' | 'swallow' | 'throw';

/** Runs `steps` (step i writes `name-i`; `swallow` also runs a failing statement and ignores it) in one transaction. */
async function transaction(name: string, steps: Step[]) {
  return withTransaction(pool, (client) => {
    const uow = { db: client, checkpoint: () => () => undefined } as unknown as TransactionUnitOfWork;
    return runSteps(
      uow,
      steps.map((kind, i) => ({ kind, row: `${name}-${i}` })),
      async ({ kind, row }) => {
        await client.query('INSERT INTO written VALUES ($1)', [row]);
        if (kind === 'swallow') await client.query('SELECT 1 / 0').catch(() => undefined);
        if (kind === 'throw') throw new Error(`${row} refused`);
        return row;
      },
      () => false,
    );
  });
}

const written = async (name: string) =>
  (await pool.query<{ step: string }>('SELECT step FROM written WHERE step LIKE $1 ORDER BY step', [`${name}-%`])).rows.map((r) => r.step);

describe('steps in one transaction, on a pipelined connection', () => {
  it('when a step throws, then its writes are rolled back and the steps around it commit', async () => {
    const results = await transaction('throws', ['write', 'throw', 'write']);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    expect(await written('throws')).toEqual(['throws-0', 'throws-2']);
  });

  it.each([
    ['the last step', ['write', 'swallow'] as Step[]],
    ['a middle step', ['write', 'swallow', 'write'] as Step[]],
    ['a step followed by one that throws', ['write', 'swallow', 'throw', 'write'] as Step[]],
  ])('when %s leaves the transaction failed and goes on, then the whole transaction fails and nothing is written', async (_, steps) => {
    const name = `swallow${steps.length}`;
    await expect(transaction(name, steps)).rejects.toThrow();
    expect(await written(name)).toEqual([]);
  });
});
