import { classifyFailure } from './failures';
import { claimInbox } from './inbox';
import type { Job } from './triage';
import type { MessagingMetrics } from './metrics';
import { context } from './tracing';
import type { RunUnitOfWork } from './unit-of-work';

/** How running a job ended; settling turns it into an ack, a retry or a dead letter. */
export type Outcome = { kind: 'processed' } | { kind: 'duplicate' } | { kind: 'failed'; error: unknown };

export interface BatchDeps {
  runUnitOfWork: RunUnitOfWork;
  metrics: MessagingMetrics;
  /** Called as each job's handler returns: the batch is moving, not stalled (see `Lanes`). */
  moved?: () => void;
}

/**
 * Runs a batch of jobs (from any of the service's queues) as one unit of work: the inbox rows
 * (one statement for all), the handlers' effects and their outbox rows commit at once. Returns
 * each job's outcome, in the order the jobs ran; it acks nothing (see `Settler`).
 *
 * If a handler throws, the transaction rolls back, that job's outcome is the failure, and the
 * rest of the batch runs again without it: one failure never sinks the others, and the happy path
 * pays no savepoint round trips. A handler that ran before the failing one runs twice, so its
 * effects outside the database must be idempotent, as they must be anyway (a crash between an
 * external call and the commit repeats it too).
 */
export async function runBatch(batch: readonly Job[], deps: BatchDeps): Promise<{ job: Job; outcome: Outcome }[]> {
  if (batch.length === 0) return [];
  deps.metrics.batchSize.observe(batch.length);
  // Handlers lock rows by order (the order, its payment, …). Taking the batch in orderId order
  // gives every transaction the same lock order, so two batches never deadlock. The sort is
  // stable: one order's events keep their arrival order.
  const jobs = [...batch].sort((a, b) => (a.event.orderId < b.event.orderId ? -1 : a.event.orderId > b.event.orderId ? 1 : 0));
  const outcomes = new Map<Job, Outcome>();
  let pending = jobs;
  while (pending.length > 0) {
    // A message alone in its transaction: its trace shows the whole transaction (BEGIN, inbox,
    // outbox, COMMIT); in a shared one, only what its own handler did.
    const only = pending.length === 1 ? pending[0]! : undefined;
    const run = only ? await context.with(only.ctx, () => runOnce(pending, deps)) : await runOnce(pending, deps);
    if (run.ok) {
      pending.forEach((job, i) => outcomes.set(job, run.outcomes[i]!));
      break;
    }
    const { failed, error } = run;
    if (failed === undefined || classifyFailure(error).kind === 'dependency') {
      // The transaction itself failed (database gone, say), or a dependency every message would
      // meet again is away: the whole batch goes back, none of it charged an attempt.
      for (const job of pending) outcomes.set(job, { kind: 'failed', error });
      break;
    }
    outcomes.set(failed, { kind: 'failed', error });
    pending = pending.filter((job) => job !== failed);
  }
  return jobs.map((job) => ({ job, outcome: outcomes.get(job) ?? { kind: 'failed', error: 'no outcome' } }));
}

/** One transaction over `jobs`: every outcome, or the job whose handler threw (none: the transaction itself failed). */
async function runOnce(
  jobs: readonly Job[],
  { runUnitOfWork, moved }: BatchDeps,
): Promise<{ ok: true; outcomes: Outcome[] } | { ok: false; failed: Job | undefined; error: unknown }> {
  let running: Job | undefined;
  try {
    const outcomes = await runUnitOfWork(async (uow) => {
      const fresh = await claimInbox(uow.db, jobs.map((job) => ({ queue: job.delivery.queue, eventId: job.event.id })));
      const results: Outcome[] = [];
      for (const [i, job] of jobs.entries()) {
        if (!fresh[i]) {
          results.push({ kind: 'duplicate' });
          continue;
        }
        running = job;
        await context.with(job.ctx, () => job.handler(job.event, { ...uow, log: job.log, attempt: job.attempt }));
        running = undefined;
        moved?.();
        results.push({ kind: 'processed' });
      }
      return results;
    });
    return { ok: true, outcomes };
  } catch (error) {
    return { ok: false, failed: running, error };
  }
}
