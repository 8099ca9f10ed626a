import { describe, expect, it } from 'vitest';
import { StockWatch } from './stock';

const LAG = 100;

describe('stock-matches', () => {
  it('when the SKU is not quiet around the read, then the read is no baseline', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.reservedSeen(3, 1000);
    expect(watch.quietAt(1050)).toBe(false);
    expect(watch.judge({ reserved: 3, seenBefore: 3, atMs: 1050 }, 1200)).toEqual({ state: 'not-quiet' });
    expect(watch.hasBaseline).toBe(false);
  });

  it('when a read is judged before the lag has passed, then it waits', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    expect(watch.judge({ reserved: 0, seenBefore: 0, atMs: 1000 }, 1099)).toEqual({ state: 'waiting' });
  });

  it('when reservations are committed before their events are seen, then a read between the two bounds agrees (no false alarm under load)', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    expect(watch.judge({ reserved: 40, seenBefore: 0, atMs: 1000 }, 1100)).toEqual({ state: 'baseline', offset: 40 });
    watch.reservedSeen(2, 1200);
    // Read at 1300: 2 seen before it, and 3 more committed whose events are still on their way.
    const reading = { reserved: 45, seenBefore: 2, atMs: 1300 };
    watch.reservedSeen(3, 1350);
    expect(watch.judge(reading, 1400)).toEqual({ state: 'agrees' });
  });

  it('when the figure moves without events, then it is a mismatch, confirmed the second time; agreeing again clears it', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.judge({ reserved: 0, seenBefore: 0, atMs: 1000 }, 1100);
    watch.reservedSeen(3, 1200);
    expect(watch.judge({ reserved: 8, seenBefore: 3, atMs: 1400 }, 1500)).toEqual({ state: 'mismatch', expected: [3, 3], reserved: 8, confirmed: false });
    expect(watch.judge({ reserved: 8, seenBefore: 3, atMs: 1600 }, 1700)).toMatchObject({ state: 'mismatch', confirmed: true });
    expect(watch.judge({ reserved: 3, seenBefore: 3, atMs: 1800 }, 1900)).toEqual({ state: 'agrees' });
    expect(watch.judge({ reserved: 2, seenBefore: 3, atMs: 2000 }, 2100)).toMatchObject({ state: 'mismatch', confirmed: false });
  });
});
