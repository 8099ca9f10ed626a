/**
 * Counts per second over a sliding span: how many in the last `spanMs`, in memory proportional to
 * the span in seconds, not to the traffic (a busy edge costs no more than a quiet one).
 */
export class SlidingCount {
  /** [second, count], oldest first. */
  private buckets: [number, number][] = [];

  constructor(private readonly spanMs: number) {}

  add(atMs: number, n = 1): void {
    const second = Math.floor(atMs / 1000);
    const last = this.buckets[this.buckets.length - 1];
    if (last && last[0] === second) last[1] += n;
    else if (last && last[0] > second) this.addOutOfOrder(second, n);
    else this.buckets.push([second, n]);
    this.prune(atMs);
  }

  /** How many in the span ending at `nowMs`. */
  count(nowMs: number): number {
    this.prune(nowMs);
    let total = 0;
    for (const [, n] of this.buckets) total += n;
    return total;
  }

  private addOutOfOrder(second: number, n: number): void {
    const bucket = this.buckets.find(([s]) => s === second);
    if (bucket) bucket[1] += n;
    else this.buckets = [...this.buckets, [second, n] as [number, number]].sort((a, b) => a[0] - b[0]);
  }

  private prune(nowMs: number): void {
    // A bucket counts while any part of its second is inside the span.
    const oldest = Math.floor((nowMs - this.spanMs) / 1000);
    let drop = 0;
    while (drop < this.buckets.length && (this.buckets[drop] as [number, number])[0] <= oldest) drop += 1;
    if (drop > 0) this.buckets.splice(0, drop);
  }
}
