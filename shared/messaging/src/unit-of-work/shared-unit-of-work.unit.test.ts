import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyError } from '../errors';
import { sharedUnitOfWork } from './shared-unit-of-work';
import type { RunUnitOfWork, TransactionUnitOfWork, UnitOfWork } from './unit-of-work';

/**
 * A transaction runner that records what each transaction ran and what it committed, with
 * savepoints as Postgres has them: ROLLBACK TO undoes what was written since the savepoint. A
 * transaction whose work throws commits nothing. `failCommit` makes every COMMIT fail.
 */
function transactions(options: { failCommit?: Error } = {}) {
  const ran: string[][] = [];
  const committed: string[][] = [];
  const run: RunUnitOfWork = async (work) => {
    const statements: string[] = [];
    ran.push(statements);
    let writes: string[] = [];
    const savepoints: number[] = [];
    const query = async (text: string) => {
      if (text === 'SAVEPOINT troupe_step') savepoints.push(writes.length);
      else if (text === 'RELEASE SAVEPOINT troupe_step') savepoints.pop();
      else if (text === 'ROLLBACK TO SAVEPOINT troupe_step') writes = writes.slice(0, savepoints.at(-1));
      else {
        statements.push(text);
        writes.push(text);
      }
    };
    const uow = { db: { query }, checkpoint: () => () => undefined } as unknown as TransactionUnitOfWork;
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

/** A promise the test settles: work that holds its transaction open until released. */
function held() {
  let release!: () => void;
  const promise = new Promise<void>((resolve) => (release = resolve));
  return { promise, release };
}
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

const manager = new AsyncLocalStorageContextManager();
beforeAll(() => context.setGlobalContextManager(manager.enable()));
afterAll(() => {
  manager.disable();
  context.disable();
});

describe('sharedUnitOfWork', () => {
  it('when callers arrive together, then they share one transaction, in the order of their keys, and each gets its own answer', async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options).run;
    const answers = await Promise.all([shared('k2', write('a')), shared(undefined, write('b')), shared('k1', write('c'))]);
    expect(answers).toEqual(['a', 'b', 'c']);
    // Keyed work in key order (two processes' transactions lock the same keys in the same order); unkeyed first.
    expect(ran).toEqual([['b', 'c', 'a']]);
    expect(committed).toEqual([['b', 'c', 'a']]);
  });

  it("when callers arrive together, then each caller's work runs in that caller's trace context", async () => {
    const { run } = transactions();
    const shared = sharedUnitOfWork(run, options).run;
    const CALLER = createContextKey('caller');
    const seen: Record<string, unknown> = {};
    const call = (name: string) =>
      context.with(ROOT_CONTEXT.setValue(CALLER, name), () =>
        shared(name, async () => {
          await nextTurn();
          seen[name] = context.active().getValue(CALLER);
        }),
      );
    await Promise.all([call('a'), call('b'), call('c')]);
    expect(seen).toEqual({ a: 'a', b: 'b', c: 'c' });
  });

  it("when two callers' work throws, then each gets its error and the others commit in the same transaction, no work run twice", async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options).run;
    const answers = await Promise.allSettled([
      shared('a', write('a')),
      shared('b', write('b', new Error('bad b'))),
      shared('c', write('c', new Error('bad c'))),
      shared('d', write('d')),
    ]);
    expect(answers).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: new Error('bad b') },
      { status: 'rejected', reason: new Error('bad c') },
      { status: 'fulfilled', value: 'd' },
    ]);
    expect(ran).toEqual([['a', 'b', 'c', 'd']]);
    expect(committed).toEqual([['a', 'd']]);
  });

  it('when counting a transaction throws, then the work still runs and every caller is answered', async () => {
    const { run, committed } = transactions();
    const onTransaction = () => {
      throw new Error('metrics broken');
    };
    const shared = sharedUnitOfWork(run, { ...options, onTransaction }).run;
    expect(await Promise.all([shared('a', write('a')), shared('b', write('b'))])).toEqual(['a', 'b']);
    expect(committed).toEqual([['a', 'b']]);
  });

  it('when closed, then work still waiting is refused as the service stopping, the running transaction ends, and later calls are refused', async () => {
    const { run, committed } = transactions();
    const shared = sharedUnitOfWork(run, options);
    const hold = held();
    const first = shared.run('k', async (uow) => {
      await uow.db.query('k1');
      await hold.promise;
      return 'k1';
    });
    await nextTurn(); // the first transaction is running
    const waiting = shared.run('k', write('k2')); // same key: waits for the first

    let closedYet = false;
    const closed = shared.close().then(() => (closedYet = true));
    await expect(waiting).rejects.toBeInstanceOf(DependencyError);
    await nextTurn();
    expect(closedYet).toBe(false); // the running transaction has not ended
    hold.release();
    await closed;
    expect(committed).toEqual([['k1']]); // it ended before close() did
    expect(await first).toBe('k1');
    await expect(shared.run('x', write('x'))).rejects.toBeInstanceOf(DependencyError);
  });

  it("when one caller's work throws, then that caller gets its error and the others commit without it", async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options).run;
    const bad = new Error('unknown SKU');
    const answers = await Promise.allSettled([shared('a', write('a')), shared('b', write('b', bad)), shared('c', write('c'))]);
    expect(answers).toEqual([
      { status: 'fulfilled', value: 'a' },
      { status: 'rejected', reason: bad },
      { status: 'fulfilled', value: 'c' },
    ]);
    expect(ran).toEqual([['a', 'b', 'c']]);
    expect(committed).toEqual([['a', 'c']]);
  });

  it('when the database is away, then every caller gets the failure at once, the ones after it untried', async () => {
    const { run, ran, committed } = transactions();
    const shared = sharedUnitOfWork(run, options).run;
    const away = new DependencyError('database', new Error('connection refused'));
    const answers = await Promise.allSettled([shared('a', write('a', away)), shared('b', write('b')), shared('c', write('c'))]);
    expect(answers).toEqual([0, 1, 2].map(() => ({ status: 'rejected', reason: away })));
    expect(ran).toEqual([['a']]);
    expect(committed.flat()).toEqual([]);
  });

  it('when the COMMIT fails, then every caller of that transaction gets the failure', async () => {
    const failed = new Error('could not serialize access');
    const { run, committed } = transactions({ failCommit: failed });
    const shared = sharedUnitOfWork(run, options).run;
    const answers = await Promise.allSettled([shared('a', write('a')), shared('b', write('b'))]);
    expect(answers).toEqual([
      { status: 'rejected', reason: failed },
      { status: 'rejected', reason: failed },
    ]);
    expect(committed).toEqual([]);
  });

  it('when a caller comes with the key of one in a running transaction, then it waits for that one to end; others start beside it', async () => {
    const { run, ran } = transactions();
    const shared = sharedUnitOfWork(run, { ...options, spreadAfterMs: 0 }).run;
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
