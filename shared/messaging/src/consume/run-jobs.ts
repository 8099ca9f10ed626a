import type { MessagingMetrics } from '../metrics';
import { classifyFailure } from '../outages/failures';
import { context } from '../tracing';
import { runSteps } from '../unit-of-work/steps';
import type { RunUnitOfWork } from '../unit-of-work/unit-of-work';
import { claimInbox, releaseInbox } from './inbox';
import type { Job } from './triage';

/** How running a job ended; settling turns it into an ack, a retry or a dead letter. */
export type JobResult = { kind: 'processed' } | { kind: 'duplicate' } | { kind: 'failed'; error: unknown };

export interface RunJobsDeps {
  runUnitOfWork: RunUnitOfWork;
  metrics: MessagingMetrics;
  /** Called as each job's handler returns: the batch is making progress, not stalled (see `BatchQueue`). */
  itemDone?: () => void;
}

/**
 * Runs a batch of jobs (from any of the service's queues) as one unit of work: the inbox rows
 * (one statement for all), the handlers' effects and their outbox rows commit at once. Returns
 * each job's result, in the order the jobs ran; it acks nothing (see `Settler`).
 *
 * Each handler runs in a savepoint (`runSteps`): if it throws, its statements and events are
 * undone, its inbox row is released, its result is the failure, and the others commit. No
 * handler runs again because another failed, so a call it makes outside the database happens once
 * per transaction (decision 0023). A dependency found away ends the batch there: the jobs after it
 * go back untried, the ones before it commit. If the transaction itself fails (the database gone,
 * the COMMIT refused), every job's result is that failure.
 */
export async function runJobs(batch: readonly Job[], deps: RunJobsDeps): Promise<{ job: Job; result: JobResult }[]> {
  if (batch.length === 0) return [];
  deps.metrics.batchSize.observe(batch.length);
  // Handlers lock rows by order (the order, its payment, …). Taking the batch in orderId order
  // gives every transaction the same lock order, so two batches never deadlock. The sort is
  // stable: one order's events keep their arrival order.
  const jobs = [...batch].sort((a, b) => (a.event.orderId < b.event.orderId ? -1 : a.event.orderId > b.event.orderId ? 1 : 0));
  // A message alone in its transaction: its trace shows the whole transaction (BEGIN, inbox,
  // outbox, COMMIT); in a shared one, only what its own handler did.
  const only = jobs.length === 1 ? jobs[0]! : undefined;
  try {
    const results = only ? await context.with(only.ctx, () => runInOneTransaction(jobs, deps)) : await runInOneTransaction(jobs, deps);
    return jobs.map((job, i) => ({ job, result: results[i]! }));
  } catch (error) {
    return jobs.map((job) => ({ job, result: { kind: 'failed', error } }));
  }
}

/** One transaction over `jobs`: each job's result, in order. Throws if the transaction itself fails. */
async function runInOneTransaction(jobs: readonly Job[], { runUnitOfWork, itemDone }: RunJobsDeps): Promise<JobResult[]> {
  return runUnitOfWork(async (uow) => {
    const fresh = await claimInbox(uow.db, jobs.map((job) => ({ queue: job.delivery.queue, eventId: job.event.id })));
    const results = await runSteps(
      uow,
      jobs.map((job, i) => ({ job, fresh: fresh[i] })),
      async ({ job, fresh: isNew }): Promise<JobResult> => {
        if (!isNew) return { kind: 'duplicate' };
        await context.with(job.ctx, () => job.handler(job.event, { ...uow, log: job.log, attempt: job.attempt }));
        itemDone?.();
        return { kind: 'processed' };
      },
      (error) => classifyFailure(error).kind === 'dependency',
    );
    // A failed job's inbox row goes with its failure: it is tried again.
    const failed = jobs.filter((_, i) => !results[i]!.ok);
    await releaseInbox(uow.db, failed.map((job) => ({ queue: job.delivery.queue, eventId: job.event.id })));
    return results.map((result): JobResult => (result.ok ? result.value : { kind: 'failed', error: result.error }));
  });
}
