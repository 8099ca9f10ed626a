import type { Logger } from 'pino';
import type { MessagingMetrics } from '../metrics';
import { BROKER, classifyFailure } from '../outages/failures';
import type { Outages } from '../outages/outages';
import type { BatchRunner } from '../unit-of-work/batch-queue';
import type { RunUnitOfWork } from '../unit-of-work/unit-of-work';
import type { Delivery } from './delivery';
import { runJobs } from './run-jobs';
import type { Settler } from './settle';
import { triage, type Job } from './triage';

export interface BatchConsumerDeps {
  logger: Logger;
  metrics: MessagingMetrics;
  runUnitOfWork: RunUnitOfWork;
  settler: Settler;
  /** Where a job that found a dependency away reports it: what the dependency affects pauses. */
  outages: Pick<Outages, 'report'>;
}

/**
 * What happens to a batch of deliveries taken from the batch queue, in one direction: triage each
 * (poison and ignored ones are settled at once), run the jobs as one unit of work, settle each
 * job's result. Each step hands the next one data.
 */
export class BatchConsumer implements BatchRunner<Delivery> {
  constructor(private readonly deps: BatchConsumerDeps) {}

  async runBatch(batch: readonly Delivery[], itemDone: () => void): Promise<void> {
    const { settler, outages } = this.deps;
    const jobs: Job[] = [];
    for (const delivery of batch) {
      // A message from a channel that has since closed will be redelivered: do not handle it twice.
      if (!delivery.acks.isCurrent) continue;
      const triaged = triage(delivery, this.deps);
      if (triaged.kind === 'job') jobs.push(triaged.job);
      else if (triaged.kind === 'ignored') settler.ignore(delivery, triaged.type);
      else await settler.poison(delivery, triaged.reason);
    }
    const results = await runJobs(jobs, { runUnitOfWork: this.deps.runUnitOfWork, metrics: this.deps.metrics, itemDone });
    // A dependency found away pauses what it affects before its messages are handed back: the
    // broker then sees the consumer's cancel before the requeues and does not deliver them again to
    // this consumer (each outage costs a held message one delivery, decision 0009). The broker's own
    // failures are left to the connection's recovery.
    for (const { job, result } of results) {
      if (result.kind !== 'failed') continue;
      const failure = classifyFailure(result.error);
      if (failure.kind === 'dependency' && failure.dependency !== BROKER) outages.report(failure.dependency, job.delivery.queue, result.error);
    }
    await Promise.all(results.map(({ job, result }) => settler.settle(job, result)));
  }
}
