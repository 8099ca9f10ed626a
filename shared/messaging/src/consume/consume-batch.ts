import type { Outcome } from './run-jobs';
import type { Delivery } from './channel-acks';
import { BROKER, classifyFailure } from '../outages/failures';
import type { Settler } from './settle';
import type { Job, Triage } from './triage';

export interface ConsumeBatchSteps {
  /** Whether the delivery came on the channel its subscription still consumes on. */
  isCurrent: (delivery: Delivery) => boolean;
  triage: (delivery: Delivery) => Triage;
  run: (jobs: readonly Job[]) => Promise<{ job: Job; outcome: Outcome }[]>;
  settler: Settler;
  /** A job found `dependency` away: pause what it affects (see `Outages`). */
  reportOutage: (dependency: string, queue: string, error: unknown) => void;
}

/**
 * What happens to a batch of deliveries taken from the lanes, in one direction: triage each
 * (poison and ignored ones are settled at once), run the jobs as one unit of work, settle each
 * outcome. Each step hands the next one data.
 */
export async function consumeBatch(batch: readonly Delivery[], steps: ConsumeBatchSteps): Promise<void> {
  const jobs: Job[] = [];
  for (const delivery of batch) {
    // A message from a channel that has since closed will be redelivered: do not handle it twice.
    if (!steps.isCurrent(delivery)) continue;
    const triaged = steps.triage(delivery);
    if (triaged.kind === 'job') jobs.push(triaged.job);
    else if (triaged.kind === 'ignored') steps.settler.ignore(delivery, triaged.type);
    else await steps.settler.poison(delivery, triaged.reason);
  }
  const outcomes = await steps.run(jobs);
  // A dependency found away pauses what it affects before its messages are handed back: the
  // broker then sees the consumer's cancel before the requeues and does not deliver them again to
  // this consumer (each outage costs a held message one delivery, decision 0009). The broker's own
  // failures are left to the connection's recovery.
  for (const { job, outcome } of outcomes) {
    if (outcome.kind !== 'failed') continue;
    const failure = classifyFailure(outcome.error);
    if (failure.kind === 'dependency' && failure.dependency !== BROKER) steps.reportOutage(failure.dependency, job.delivery.queue, outcome.error);
  }
  await Promise.all(outcomes.map(({ job, outcome }) => steps.settler.settle(job, outcome)));
}
