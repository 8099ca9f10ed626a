import { describe, expect, it } from 'vitest';
import { DependencyError } from './errors';
import { sharedUnitOfWork } from './shared-unit-of-work';
import type { RunUnitOfWork, UnitOfWork } from './unit-of-work';

/**
 * A transaction runner that records what each transaction ran and what it committed: a
 * transaction whose work throws commits nothing. `failCommit` makes every COMMIT fail.
 */
function transactions(options: { failCommit?: Error } = {}) {
  const ran: string[][] = [];
  const committed: string[][] = [];
  const run: RunUnitOfWork = async (work) => {
    const writes: string[] = [];
    ran.push(writes);
    const uow = { db: { query: async (text: string) => void writes.push(text) } } as unknown as UnitOfWork;
    const result = await work(uow);
    if (options.failCommit) throw options.failCommit;
    committed.push(writes);
    return result;
  };
  return { run, ran, committed };
}

/** Work that writes `name` and answers with it, or throws `error` after writing. */
const write =
  (name: string, error?: Error) =>
  async (uow: UnitOfWork): Promise<string> => {
    await uow.db.query(name);
    if (error) throw error;
    return name;
  };

const options = { concurrency: 4, maxBatch: 100, spreadAfterMs: 50 };

describe('sharedUnitOfWork', () => {
  it('when callers arrive together, then they share one transaction and each gets its own answer', async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options);
    const answers = await Promise.all([shared('a', write('a')), shared(undefined, write('b')), shared('c', write('c'))]);
    expect(answers).toEqual(['a', 'b', 'c']);
    expect(ran).toEqual([['a', 'b', 'c']]);
    expect(committed).toEqual([['a', 'b', 'c']]);
  });

  it("when one caller's work throws, then that caller gets its error and the others commit without it", async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options);
    const bad = new Error('unknown SKU');
    const answers = await Promise.allSettled([shared('a', write('a')), shared('b', write('b', bad)), shared('c', write('c'))]);
    expect(answers).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 'c' },
    ]);
    expect(ran).toEqual([['a', 'b'], ['a', 'c']]);
    expect(committed).toEqual([['a', 'c']]);
  });

  it('when the database is away, then every caller gets the failure at once, without a run per caller', async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options);
    const away = new DependencyError('database', new Error('connection refused'));
    const answers = await Promise.allSettled([shared('a', write('a', away)), shared('b', write('b')), shared('c', write('c'))]);
    expect(answers.map((a) => a.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(ran).toHaveLength(1);
    expect(committed).toEqual([]);
  });

  it('when the COMMIT fails, then every caller of that transaction gets the failure', async () => {
    const failed = new Error('could not serialize access');
    const { run, committed } = transactions({ failCommit: failed });
    const shared = sharedUnitOfWork(run, options);
    const answers = await Promise.allSettled([shared('a', write('a')), shared('b', write('b'))]);
    expect(answers).toEqual([
      { status: 'rejected', reason: failed },
      { status: 'rejected', reason: failed },
    ]);
    expect(committed).toEqual([]);
  });

  it('when a caller comes with the key of one in a running transaction, then it waits for that one to end; others start beside it', async () => {
    const { run, ran } = transactions();
    const shared = sharedUnitOfWork(run, { ...options, spreadAfterMs: 0 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const first = shared('k', async (uow) => {
      await uow.db.query('k1');
      await held;
      return 'k1';
    });
    await new Promise((resolve) => setImmediate(resolve)); // the first transaction is running
    const second = shared('k', write('k2'));
    const other = shared('x', write('x'));
    expect(await other).toBe('x'); // committed while the first still runs
    expect(ran).toEqual([['k1'], ['x']]);
    release();
    expect(await Promise.all([first, second])).toEqual(['k1', 'k2']);
    expect(ran).toEqual([['k1'], ['x'], ['k2']]);
  });
});
