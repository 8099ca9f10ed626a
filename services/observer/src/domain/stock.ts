/**
 * `stock-matches`, for one SKU: the inventory's `reserved` moves exactly as the InventoryReserved
 * quantities seen. Reading it races the events: a reservation is committed before its event is
 * published, so a read can hold reservations whose events are still on their way. The check is
 * therefore a bracket, sound under steady load, not a wait for quiet:
 *
 * - the baseline is taken only when the SKU is quiet: no InventoryReserved seen from `lagMs` before
 *   the read to `lagMs` after it, so the read holds exactly what was seen (`offset = reserved − seen`);
 * - afterwards, a read at time t must lie between `offset + seen(before t)` (those events were
 *   committed before they were seen) and `offset + seen(t + lagMs)` (whatever was committed by t
 *   has been seen `lagMs` later).
 *
 * `lagMs` is the longest an event takes from its commit to the observer (OBSERVER_EVENT_LAG_MS).
 * A reading outside the bracket twice running is a mismatch; one inside clears it.
 */
export interface StockReading {
  reserved: number;
  /** Quantities seen before the read was sent. */
  seenBefore: number;
  /** When the read was sent. */
  atMs: number;
}

export type StockVerdict =
  | { state: 'waiting' }
  | { state: 'not-quiet' }
  | { state: 'baseline'; offset: number }
  | { state: 'agrees' }
  | { state: 'mismatch'; expected: [number, number]; reserved: number; confirmed: boolean };

export class StockWatch {
  /** Quantities reserved, as the InventoryReserved seen say, since the observer started. */
  seen = 0;
  lastSeenAtMs = -Infinity;
  private offset: number | undefined;
  private mismatches = 0;

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

  /** Judges `reading` once `lagMs` has passed since it (`nowMs`); before that, `waiting` (keep it); `not-quiet`: no baseline from it, read again. */
  judge(reading: StockReading, nowMs: number): StockVerdict {
    if (nowMs - reading.atMs < this.lagMs) return { state: 'waiting' };
    if (this.offset === undefined) {
      // Quiet on both sides of the read: it holds exactly what was seen.
      if (this.lastSeenAtMs > reading.atMs - this.lagMs) return { state: 'not-quiet' };
      this.offset = reading.reserved - reading.seenBefore;
      return { state: 'baseline', offset: this.offset };
    }
    const expected: [number, number] = [this.offset + reading.seenBefore, this.offset + this.seen];
    if (reading.reserved >= expected[0] && reading.reserved <= expected[1]) {
      this.mismatches = 0;
      return { state: 'agrees' };
    }
    this.mismatches += 1;
    return { state: 'mismatch', expected, reserved: reading.reserved, confirmed: this.mismatches >= 2 };
  }
}
