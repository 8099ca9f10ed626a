/** What the gateway does with a card token (docs/design.md "Deterministic behaviours"). */
export type Decision = { outcome: 'approved' } | { outcome: 'declined'; reason: string } | { outcome: 'transient'; message: string };

/** How many attempts of a `tok_flaky` charge fail transiently before one is approved. */
export const FLAKY_FAILURES = 2;

/** Whether `decide` needs the key's transient failures so far: the one token that fails some of its attempts. */
export const failsTransiently = (token: string): boolean => token === 'tok_flaky';

/**
 * `tok_visa` approved, `tok_declined` declined, `tok_flaky` failing transiently on its first
 * two attempts under one idempotency key and approved on the third; any other token declined.
 */
export function decide(token: string, transientFailuresSoFar: number): Decision {
  switch (token) {
    case 'tok_visa':
      return { outcome: 'approved' };
    case 'tok_declined':
      return { outcome: 'declined', reason: 'card declined' };
    case 'tok_flaky':
      return transientFailuresSoFar < FLAKY_FAILURES
        ? { outcome: 'transient', message: `gateway timed out (simulated, attempt ${transientFailuresSoFar + 1} of ${FLAKY_FAILURES + 1})` }
        : { outcome: 'approved' };
    default:
      return { outcome: 'declined', reason: 'unknown payment token' };
  }
}
