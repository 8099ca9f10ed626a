import type { Outcome } from './batch';
import type { Delivery } from './delivery';
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
  await Promise.all(
    outcomes.map(async ({ job, outcome }) => {
      const away = await steps.settler.settle(job, outcome);
      if (away !== undefined && outcome.kind === 'failed') steps.reportOutage(away, job.delivery.queue, outcome.error);
    }),
  );
}
