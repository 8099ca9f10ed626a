import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { DependencyError } from '../errors';
import { classifyFailure } from '../outages/failures';
import { BatchQueue } from './batch-queue';
import { runSteps, type StepResult } from './steps';
import { context } from '../tracing';
import type { RunUnitOfWork, UnitOfWork } from './unit-of-work';

/**
 * Runs callers' work in transactions they may share (see `sharedUnitOfWork`); `key` keeps two
 * calls with the same key out of each other's way.
 */
export interface SharedUnitOfWork {
  run<R>(key: string | undefined, work: (uow: UnitOfWork) => Promise<R>): Promise<R>;
  /**
   * Stops taking work: what waits and has not started is refused (a `DependencyError`: the
   * service is stopping, try again), and the promise resolves once the running transactions end.
   */
  close(): Promise<void>;
}

export interface SharedUnitOfWorkOptions {
  /** Transactions in flight at most (see `BatchQueue`). */
  concurrency: number;
  /** Callers' work in one transaction at most. */
  maxBatch: number;
  /** How long the running transactions may go without finishing a caller's work before another starts beside them. */
  spreadAfterMs: number;
  /** Called as each transaction starts, with how many callers' work it runs. */
  onTransaction?: (callers: number) => void;
}

interface Caller {
  key: string;
  work: (uow: UnitOfWork) => Promise<unknown>;
  ctx: Context;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/** Keys for calls without one: unique, and never a client's (those are printable ASCII). */
let unkeyed = 0;
const nextUnkeyed = () => `\0${(unkeyed = (unkeyed + 1) % Number.MAX_SAFE_INTEGER)}`;

const stopping = () => new DependencyError('service', new Error('stopping; try again'));

/**
 * Units of work of concurrent callers (HTTP requests, say) committed together, as the consumers
 * commit a batch of messages (docs/decisions/0004, 0018): the callers that arrive while a
 * transaction runs share the next one, so `BEGIN`, `COMMIT` and its WAL flush are paid once for
 * all of them. Each caller's work runs in its own trace context, one after the other, in the
 * order of their keys, so two transactions (in two processes, say) that lock the same keys' rows
 * take them in the same order and never deadlock.
 *
 * Each caller's work runs in a savepoint (`runSteps`, as the consumers' handlers do): if it
 * throws, its statements are undone, that caller gets the error, and the others commit; no work
 * runs twice. A dependency found away ends the transaction's run there, and the callers not yet
 * run get that failure; a failure of the transaction itself (the database away, the `COMMIT`
 * failing) is every caller's answer. Calls with the same key never run in two of this process's
 * transactions at once.
 */
export function sharedUnitOfWork(runUnitOfWork: RunUnitOfWork, options: SharedUnitOfWorkOptions): SharedUnitOfWork {
  let closed = false;
  const queue = new BatchQueue<Caller>({
    concurrency: options.concurrency,
    maxBatch: options.maxBatch,
    spreadAfterMs: options.spreadAfterMs,
    runner: { runBatch: (callers, itemDone) => runTogether(runUnitOfWork, callers, itemDone, options.onTransaction) },
    onError: () => undefined, // runTogether answers every caller, whatever happens
  });
  return {
    run: <R>(key: string | undefined, work: (uow: UnitOfWork) => Promise<R>) =>
      new Promise<R>((resolve, reject) => {
        if (closed) return reject(stopping());
        const caller: Caller = { key: key ?? nextUnkeyed(), work, ctx: context.active(), resolve: resolve as (value: unknown) => void, reject };
        queue.push(caller, caller.key);
      }),
    async close() {
      closed = true;
      for (const caller of queue.remove(() => true)) caller.reject(stopping());
      await queue.idle();
    },
  };
}

async function runTogether(
  runUnitOfWork: RunUnitOfWork,
  callers: Caller[],
  itemDone: () => void,
  onTransaction: ((callers: number) => void) | undefined,
): Promise<void> {
  const sorted = [...callers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  // A caller alone in its transaction: its trace shows the whole transaction; in a shared one,
  // each trace shows only its own work, and the transaction's own statements belong to none.
  const ctx = sorted.length === 1 ? sorted[0]!.ctx : ROOT_CONTEXT;
  try {
    onTransaction?.(sorted.length);
  } catch {
    // metrics must not fail the work
  }
  let results: StepResult<unknown>[];
  try {
    results = await context.with(ctx, () =>
      runUnitOfWork((uow) =>
        runSteps(
          uow,
          sorted,
          async (caller) => {
            const value = await context.with(caller.ctx, () => caller.work(uow));
            itemDone();
            return value;
          },
          (error) => classifyFailure(error).kind === 'dependency',
        ),
      ),
    );
  } catch (error) {
    // The transaction itself failed (the database away, the COMMIT refused): every caller's answer.
    for (const caller of sorted) caller.reject(error);
    return;
  }
  sorted.forEach((caller, i) => {
    const result = results[i]!;
    if (result.ok) caller.resolve(result.value);
    else caller.reject(result.error);
  });
}
