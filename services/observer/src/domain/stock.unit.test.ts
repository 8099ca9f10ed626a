import { describe, expect, it } from 'vitest';
import { StockWatch, type StockReading } from './stock';

const LAG = 100;
/** A read of `reserved`, sent at `sentAtMs` after `seenBefore` was seen, answered at once unless said. */
const read = (reserved: number, seenBefore: number, sentAtMs: number, answeredAtMs = sentAtMs): StockReading => ({ reserved, seenBefore, sentAtMs, answeredAtMs });

describe('stock-matches', () => {
  it('when the SKU is not quiet around the read, then the read is no baseline', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.reservedSeen(3, 1000);
    expect(watch.quietAt(1050)).toBe(false);
    expect(watch.judge(read(3, 3, 1050), 1200)).toEqual({ state: 'not-quiet' });
    expect(watch.hasBaseline).toBe(false);
  });

  it('when a read is judged before the lag has passed, then it waits', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    expect(watch.judge(read(0, 0, 1000), 1099)).toEqual({ state: 'waiting' });
  });

  it('when reservations are committed before their events are seen, then a read between the two bounds agrees (no false alarm under load)', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    expect(watch.judge(read(40, 0, 1000), 1100)).toEqual({ state: 'baseline', offset: 40 });
    watch.reservedSeen(2, 1200);
    // Read at 1300: 2 seen before it, and 3 more committed whose events are still on their way.
    const reading = read(45, 2, 1300);
    watch.reservedSeen(3, 1350);
    expect(watch.judge(reading, 1400)).toEqual({ state: 'agrees' });
  });

  it('when the figure moves without events, then it is a mismatch, confirmed the second time; agreeing again clears it', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.judge(read(0, 0, 1000), 1100);
    watch.reservedSeen(3, 1200);
    expect(watch.judge(read(8, 3, 1400), 1500)).toEqual({ state: 'mismatch', expected: [3, 3], reserved: 8, confirmed: false });
    expect(watch.judge(read(8, 3, 1600), 1700)).toMatchObject({ state: 'mismatch', confirmed: true });
    expect(watch.judge(read(3, 3, 1800), 1900)).toEqual({ state: 'agrees' });
    expect(watch.judge(read(2, 3, 2000), 2100)).toMatchObject({ state: 'mismatch', confirmed: false });
  });

  it('when the answer is slow, then the read is judged a lag after the answer, not after the request (reservations committed meanwhile count)', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.judge(read(0, 0, 1000), 1100);
    // Sent at 1300, answered at 1800: a reservation committed at 1700 is in it, its event seen at 1790.
    const slow = read(2, 0, 1300, 1800);
    watch.reservedSeen(2, 1790);
    expect(watch.judge(slow, 1850)).toEqual({ state: 'waiting' });
    expect(watch.judge(slow, 1900)).toEqual({ state: 'agrees' });
  });

  it('when a reservation went by unseen (a gap in the watch), then the count stays short until the baseline is taken again', () => {
    const watch = new StockWatch('SKU-MUG', LAG);
    watch.judge(read(10, 0, 1000), 1100);
    // 2 reserved during the gap, never seen; then 3 seen.
    watch.reservedSeen(3, 2000);
    expect(watch.judge(read(15, 3, 2200), 2300)).toMatchObject({ state: 'mismatch', expected: [13, 13] });
    watch.rebase(2400);
    expect(watch.hasBaseline).toBe(false);
    expect(watch.judge(read(15, 3, 2350), 2600)).toEqual({ state: 'stale' });
    expect(watch.quietAt(2450)).toBe(false);
    expect(watch.quietAt(2500)).toBe(true);
    expect(watch.judge(read(15, 3, 2500), 2600)).toEqual({ state: 'baseline', offset: 12 });
    expect(watch.judge(read(15, 3, 2700), 2800)).toEqual({ state: 'agrees' });
  });
});
