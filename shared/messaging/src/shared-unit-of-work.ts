import { ROOT_CONTEXT, type Context } from '@opentelemetry/api';
import { DependencyError } from './errors';
import { classifyFailure } from './failures';
import { Lanes } from './lanes';
import { context } from './tracing';
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
  /** Transactions in flight at most (see `Lanes`). */
  concurrency: number;
  /** Callers' work in one transaction at most. */
  maxBatch: number;
  /** How long the running transactions may go without finishing a caller's work before another starts beside them. */
  spreadAfterMs: number;
  /** Called as each transaction starts, with how many callers' work it runs (reruns included). */
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
 * If one caller's work throws, the transaction rolls back, that caller gets the error, and the
 * others run again together without it; if one of them throws too, the rest run one transaction
 * each. A bad caller therefore costs the others one run at most, several cost them two. Work
 * must be safe to run again, which work that only touches the transaction is. A failure every
 * caller would meet (the database away, the `COMMIT` failing) is every caller's answer. Calls
 * with the same key never run in two of this process's transactions at once.
 */
export function sharedUnitOfWork(runUnitOfWork: RunUnitOfWork, options: SharedUnitOfWorkOptions): SharedUnitOfWork {
  let closed = false;
  const lanes = new Lanes<Caller>(
    options.concurrency,
    options.maxBatch,
    (callers, moved) => runTogether(runUnitOfWork, callers, moved, options.onTransaction),
    () => undefined, // runTogether answers every caller, whatever happens
    options.spreadAfterMs,
  );
  return {
    run: <R>(key: string | undefined, work: (uow: UnitOfWork) => Promise<R>) =>
      new Promise<R>((resolve, reject) => {
        if (closed) return reject(stopping());
        const caller: Caller = { key: key ?? nextUnkeyed(), work, ctx: context.active(), resolve: resolve as (value: unknown) => void, reject };
        lanes.push(caller, caller.key);
      }),
    async close() {
      closed = true;
      for (const caller of lanes.remove(() => true)) caller.reject(stopping());
      await lanes.idle();
    },
  };
}

async function runTogether(
  runUnitOfWork: RunUnitOfWork,
  callers: Caller[],
  moved: () => void,
  onTransaction: ((callers: number) => void) | undefined,
): Promise<void> {
  const unanswered = new Set(callers);
  const answer = (caller: Caller, outcome: { value: unknown } | { error: unknown }) => {
    if (!unanswered.delete(caller)) return;
    if ('error' in outcome) caller.reject(outcome.error);
    else caller.resolve(outcome.value);
  };
  try {
    let pending = [...callers].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let failures = 0;
    while (pending.length > 0) {
      // After a second failure, the rest run one transaction each: a few bad callers must not
      // make the others run again once per bad caller.
      const group = failures >= 2 ? pending.slice(0, 1) : pending;
      const run = await runOnce(runUnitOfWork, group, moved, onTransaction);
      if (run.ok) {
        group.forEach((caller, i) => answer(caller, { value: run.results[i] }));
        pending = pending.slice(group.length);
        continue;
      }
      const { failed, error } = run;
      // The transaction itself failed, or the database is away: every caller in it would meet it again.
      if (failed === undefined || group.length === 1 || classifyFailure(error).kind === 'dependency') {
        for (const caller of group) answer(caller, { error });
        pending = pending.slice(group.length);
        continue;
      }
      answer(failed, { error });
      pending = pending.filter((caller) => caller !== failed);
      failures += 1;
    }
  } finally {
    // Whatever went wrong above, no caller is left waiting.
    for (const caller of [...unanswered]) answer(caller, { error: new Error('the shared transaction ended without an answer') });
  }
}

/** One transaction over `callers`: every result, or the caller whose work threw (none: the transaction itself failed). */
async function runOnce(
  runUnitOfWork: RunUnitOfWork,
  callers: readonly Caller[],
  moved: () => void,
  onTransaction: ((callers: number) => void) | undefined,
): Promise<{ ok: true; results: unknown[] } | { ok: false; failed: Caller | undefined; error: unknown }> {
  let running: Caller | undefined;
  const all = async (uow: UnitOfWork): Promise<unknown[]> => {
    const results: unknown[] = [];
    for (const caller of callers) {
      running = caller;
      results.push(await context.with(caller.ctx, () => caller.work(uow)));
      running = undefined;
      moved();
    }
    return results;
  };
  // A caller alone in its transaction: its trace shows the whole transaction; in a shared one,
  // each trace shows only its own work, and the transaction's own statements belong to none.
  const ctx = callers.length === 1 ? callers[0]!.ctx : ROOT_CONTEXT;
  try {
    onTransaction?.(callers.length);
  } catch {
    // metrics must not fail the work
  }
  try {
    return { ok: true, results: await context.with(ctx, () => runUnitOfWork(all)) };
  } catch (error) {
    return { ok: false, failed: running, error };
  }
}
