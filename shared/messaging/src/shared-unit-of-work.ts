import { classifyFailure } from './failures';
import { Lanes } from './lanes';
import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { context } from './tracing';
import type { RunUnitOfWork, UnitOfWork } from './unit-of-work';

/** Runs `work` in a transaction it may share with other callers' work; `key` keeps two calls with the same key out of each other's way. */
export type RunSharedUnitOfWork = <R>(key: string | undefined, work: (uow: UnitOfWork) => Promise<R>) => Promise<R>;

export interface SharedUnitOfWorkOptions {
  /** Transactions in flight at most (see `Lanes`). */
  concurrency: number;
  /** Callers' work in one transaction at most. */
  maxBatch: number;
  /** How long the running transactions may go without finishing a caller's work before another starts beside them. */
  spreadAfterMs: number;
  /** Called as each transaction starts, with how many callers' work it runs. */
  onTransaction?: (callers: number) => void;
}

interface Caller {
  work: (uow: UnitOfWork) => Promise<unknown>;
  ctx: Context;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

let unkeyed = 0;

/**
 * Units of work of concurrent callers (HTTP requests, say) committed together, as the consumers
 * commit a batch of messages (docs/decisions/0004, 0018): the callers that arrive while a
 * transaction runs share the next one, so `BEGIN`, `COMMIT` and its WAL flush are paid once for
 * all of them. Each caller's work runs in its own trace context, one after the other.
 *
 * If one caller's work throws, the transaction rolls back, that caller gets the error, and the
 * others run again without it: a bad request never fails the others. Work must therefore be safe
 * to run again, which work that only touches the transaction is. Calls with the same `key` never
 * run in two transactions at once (they would wait on each other's rows).
 */
export function sharedUnitOfWork(runUnitOfWork: RunUnitOfWork, options: SharedUnitOfWorkOptions): RunSharedUnitOfWork {
  const lanes = new Lanes<Caller>(
    options.concurrency,
    options.maxBatch,
    (callers, moved) => runTogether(runUnitOfWork, callers, moved, options.onTransaction),
    () => undefined, // every caller is answered by runTogether
    options.spreadAfterMs,
  );
  return <R>(key: string | undefined, work: (uow: UnitOfWork) => Promise<R>) =>
    new Promise<R>((resolve, reject) => {
      const caller: Caller = { work, ctx: context.active(), resolve: resolve as (value: unknown) => void, reject };
      lanes.push(caller, key === undefined ? `\0${(unkeyed = (unkeyed + 1) % Number.MAX_SAFE_INTEGER)}` : key);
    });
}

async function runTogether(
  runUnitOfWork: RunUnitOfWork,
  callers: Caller[],
  moved: () => void,
  onTransaction: ((callers: number) => void) | undefined,
): Promise<void> {
  let pending = callers;
  while (pending.length > 0) {
    let running: Caller | undefined;
    const all = async (uow: UnitOfWork): Promise<unknown[]> => {
      const results: unknown[] = [];
      for (const caller of pending) {
        running = caller;
        results.push(await context.with(caller.ctx, () => caller.work(uow)));
        running = undefined;
        moved();
      }
      return results;
    };
    // A caller alone in its transaction: its trace shows the whole transaction; in a shared one,
    // each trace shows only its own work, and the transaction's own statements belong to none.
    const ctx = pending.length === 1 ? pending[0]!.ctx : ROOT_CONTEXT;
    onTransaction?.(pending.length);
    try {
      const results = await context.with(ctx, () => runUnitOfWork(all));
      pending.forEach((caller, i) => caller.resolve(results[i]));
      return;
    } catch (error) {
      // The transaction itself failed, or the database is away: every caller would meet it again.
      if (running === undefined || pending.length === 1 || classifyFailure(error).kind === 'dependency') {
        for (const caller of pending) caller.reject(error);
        return;
      }
      const failed: Caller = running;
      failed.reject(error);
      pending = pending.filter((caller) => caller !== failed);
    }
  }
}
