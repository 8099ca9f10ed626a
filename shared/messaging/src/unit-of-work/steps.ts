import type { TransactionUnitOfWork } from './unit-of-work';

/** How one step of a shared transaction ended. */
export type StepResult<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * Runs `steps` one after the other in the open transaction of `uow`, each in a savepoint of its
 * own: a step that throws has its statements rolled back and the events it staged forgotten, and
 * the next step goes on. No step ever runs twice because another failed, so a step's call outside
 * the database (a charge, a mail) is made once per transaction (decision 0023).
 *
 * A failure `stops(error)` says every later step would meet too (a dependency away) ends the run:
 * the steps not yet run get that failure as theirs, untried. On a pipelined pool each SAVEPOINT
 * travels with the RELEASE before it, so a step that succeeds costs one round trip of its own.
 */
export async function runSteps<S, R>(
  uow: TransactionUnitOfWork,
  steps: readonly S[],
  run: (step: S) => Promise<R>,
  stops: (error: unknown) => boolean,
): Promise<StepResult<R>[]> {
  const results: StepResult<R>[] = [];
  // A step's RELEASE is awaited once the next SAVEPOINT is on its way (or before the COMMIT): a
  // step that left the transaction failed must fail it whole, never be rolled back to later.
  let released: Promise<unknown> = Promise.resolve();
  for (const step of steps) {
    const rewind = uow.checkpoint();
    // Its failure fails the step's first statement, or ROLLBACK TO: both are awaited.
    uow.db.query('SAVEPOINT troupe_step').catch(() => undefined);
    await released;
    try {
      const value = await run(step);
      released = uow.db.query('RELEASE SAVEPOINT troupe_step');
      released.catch(() => undefined);
      results.push({ ok: true, value });
    } catch (error) {
      // A transaction that cannot go back to the savepoint (its connection gone) fails whole.
      await uow.db.query('ROLLBACK TO SAVEPOINT troupe_step');
      rewind();
      results.push({ ok: false, error });
      if (stops(error)) {
        while (results.length < steps.length) results.push({ ok: false, error });
        break;
      }
    }
  }
  await released;
  return results;
}
