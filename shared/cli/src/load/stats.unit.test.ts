import { describe, expect, it } from 'vitest';
import { pathPicker } from './paths';
import { formatTable, percentile, summarize, type OrderResult } from './stats';

describe('percentile', () => {
  it('when asked for p50/p95/p99 of 1..100, then the nearest ranks 50, 95 and 99 (p99 is not the largest)', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect([percentile(values, 50), percentile(values, 95), percentile(values, 99)]).toEqual([50, 95, 99]);
  });

  it('when asked for p50 of [1, 2, 3, 4], then 2 (rank ⌈0.5 × 4⌉ = 2, not the value above the middle)', () => {
    expect(percentile([1, 2, 3, 4], 50)).toBe(2);
    expect([percentile([1, 2, 3, 4], 25), percentile([1, 2, 3, 4], 75), percentile([1, 2, 3, 4], 100)]).toEqual([1, 3, 4]);
  });

  it('when there is one value or none, then that value, or null', () => {
    expect(percentile([7], 99)).toBe(7);
    expect(percentile([], 50)).toBeNull();
  });
});

describe('pathPicker', () => {
  it('when 8 orders follow an even mix of four paths, then exactly 2 of each', () => {
    const pick = pathPicker({ paid: 1, declined: 1, soldout: 1, flaky: 1 });
    const picked = Array.from({ length: 8 }, pick);
    expect(['paid', 'declined', 'soldout', 'flaky'].map((p) => picked.filter((x) => x === p).length)).toEqual([2, 2, 2, 2]);
  });

  it('when the mix is 70/30, then 10 orders are 7 and 3, and a zero weight is never picked', () => {
    const pick = pathPicker({ paid: 70, declined: 30, flaky: 0 });
    const picked = Array.from({ length: 10 }, pick);
    expect([picked.filter((x) => x === 'paid').length, picked.filter((x) => x === 'declined').length, picked.includes('flaky')]).toEqual([7, 3, false]);
  });
});

describe('summarize', () => {
  it('when outcomes are mixed, then each path counts them and the total has every percentile', () => {
    const outcomes: OrderResult[] = [
      { path: 'paid', kind: 'settled', status: 'COMPLETED', expected: true, ms: 10 },
      { path: 'paid', kind: 'settled', status: 'CANCELLED', expected: false, ms: 30 },
      { path: 'paid', kind: 'timeout' },
      { path: 'declined', kind: 'rejected', httpStatus: 400 },
      { path: 'declined', kind: 'error', message: 'ECONNREFUSED' },
    ];
    const summary = summarize(outcomes);
    expect(summary.paths.map((p) => p.path)).toEqual(['paid', 'declined']);
    expect(summary.paths[0]).toMatchObject({ sent: 3, completed: 1, cancelled: 1, unexpected: 1, timedOut: 1, p50Ms: 10, p99Ms: 30 });
    expect(summary.total).toMatchObject({ path: 'all', sent: 5, rejected: 1, errors: 1 });
    expect(formatTable(summary).split('\n')).toHaveLength(5);
  });
});
