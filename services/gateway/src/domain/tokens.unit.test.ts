import { describe, expect, it } from 'vitest';
import { decide, failsTransiently } from './tokens';

describe('decide', () => {
  it('when the token is tok_visa, then the charge is approved', () => {
    expect(decide('tok_visa', 0)).toEqual({ outcome: 'approved' });
  });

  it('when the token is tok_declined, then the charge is declined as such', () => {
    expect(decide('tok_declined', 0)).toEqual({ outcome: 'declined', reason: 'card declined' });
  });

  it('when the token is tok_flaky, then its first two attempts fail transiently and the third is approved', () => {
    expect(decide('tok_flaky', 0)).toEqual({ outcome: 'transient', message: 'gateway timed out (simulated, attempt 1 of 3)' });
    expect(decide('tok_flaky', 1)).toEqual({ outcome: 'transient', message: 'gateway timed out (simulated, attempt 2 of 3)' });
    expect(decide('tok_flaky', 2)).toEqual({ outcome: 'approved' });
  });

  it('when the token is unknown, then the charge is declined as unknown', () => {
    expect(decide('tok_stolen', 0)).toEqual({ outcome: 'declined', reason: 'unknown payment token' });
  });

  it('when a token is not tok_flaky, then its failures so far change nothing (so they need not be read)', () => {
    expect(failsTransiently('tok_flaky')).toBe(true);
    for (const token of ['tok_visa', 'tok_declined', 'tok_stolen', '']) {
      expect(failsTransiently(token)).toBe(false);
      expect(decide(token, 5)).toEqual(decide(token, 0));
    }
  });
});
