/**
 * `stock-matches`, for one SKU: the inventory's `reserved` moves exactly as the InventoryReserved
 * quantities seen. Reading it races the events: a reservation is committed before its event is
 * published, so a read can hold reservations whose events are still on their way. The check is
 * therefore a bracket, sound under steady load, not a wait for quiet:
 *
 * - the baseline is taken only when the SKU is quiet: no InventoryReserved seen from `lagMs` before
 *   the read was sent to `lagMs` after its answer came, so the read holds exactly what was seen
 *   (`offset = reserved − seen`);
 * - afterwards, a read must lie between `offset + seen(before it was sent)` (those events were
 *   committed before they were seen) and `offset + seen(lagMs after its answer)` (whatever was
 *   committed by the time the inventory answered has been seen `lagMs` later).
 *
 * `lagMs` is the longest an event takes from its commit to the observer (OBSERVER_EVENT_LAG_MS).
 * A reading outside the bracket twice running is a mismatch; one inside clears it. The baseline is
 * only as good as the events seen after it: when some may have gone by unseen (a gap in the watch)
 * or an operator has mended the figure (resolved the violation), it is taken again (`rebase`).
 */
export interface StockReading {
  reserved: number;
  /** Quantities seen before the read was sent. */
  seenBefore: number;
  /** When the read was sent. */
  sentAtMs: number;
  /** When its answer came: a slow answer can hold reservations committed long after it was sent. */
  answeredAtMs: number;
}

export type StockVerdict =
  | { state: 'waiting' }
  | { state: 'stale' }
  | { state: 'not-quiet' }
  | { state: 'baseline'; offset: number }
  | { state: 'agrees' }
  | { state: 'mismatch'; expected: [number, number]; reserved: number; confirmed: boolean };

export class StockWatch {
  /** Quantities reserved, as the InventoryReserved seen say, since the observer started. */
  seen = 0;
  lastSeenAtMs = -Infinity;
  /** When the latest reading judged against the events (agreeing or not) was taken. */
  lastJudgedAtMs: number | undefined;
  /** Reads in a row that found no answer (an unknown SKU: 404), and when to read again: they back off. */
  readFailures = 0;
  readDueAtMs: number | undefined;
  private offset: number | undefined;
  private mismatches = 0;
  /** Readings sent before this were sent before the latest rebase: they judge nothing. */
  private rebasedAtMs = -Infinity;

  constructor(
    readonly sku: string,
    private readonly lagMs: number,
  ) {}

  reservedSeen(quantity: number, atMs: number): void {
    this.seen += quantity;
    this.lastSeenAtMs = Math.max(this.lastSeenAtMs, atMs);
  }

  get hasBaseline(): boolean {
    return this.offset !== undefined;
  }

  /** Whether a read now could become the baseline (nothing seen for `lagMs`). */
  quietAt(nowMs: number): boolean {
    return nowMs - this.lastSeenAtMs >= this.lagMs;
  }

  /**
   * Forgets the baseline, to be taken again at the next quiet moment after `atMs`: events may have
   * gone by unseen (a gap in the watch), or the figure was mended by hand.
   */
  rebase(atMs: number): void {
    this.offset = undefined;
    this.mismatches = 0;
    this.rebasedAtMs = atMs;
    this.lastSeenAtMs = Math.max(this.lastSeenAtMs, atMs);
  }

  /**
   * Judges `reading` once `lagMs` has passed since its answer (`nowMs`); before that, `waiting`
   * (keep it); `stale`: sent before a rebase, drop it; `not-quiet`: no baseline from it, read again.
   */
  judge(reading: StockReading, nowMs: number): StockVerdict {
    if (reading.sentAtMs < this.rebasedAtMs) return { state: 'stale' };
    if (nowMs - reading.answeredAtMs < this.lagMs) return { state: 'waiting' };
    if (this.offset === undefined) {
      // Quiet on both sides of the read: it holds exactly what was seen.
      if (this.lastSeenAtMs > reading.sentAtMs - this.lagMs) return { state: 'not-quiet' };
      this.offset = reading.reserved - reading.seenBefore;
      return { state: 'baseline', offset: this.offset };
    }
    this.lastJudgedAtMs = reading.sentAtMs;
    const expected: [number, number] = [this.offset + reading.seenBefore, this.offset + this.seen];
    if (reading.reserved >= expected[0] && reading.reserved <= expected[1]) {
      this.mismatches = 0;
      return { state: 'agrees' };
    }
    this.mismatches += 1;
    return { state: 'mismatch', expected, reserved: reading.reserved, confirmed: this.mismatches >= 2 };
  }
}
