interface Batch {
  keys: Set<string>;
  /** When the batch last moved on (it started, or an item in it was done). */
  movedAt: number;
}

/** Every item without a key is one key: such items run one after the other, in arrival order. */
const NO_KEY = '';

/**
 * Work queued by key and run in batches, up to `concurrency` batches at once. Items with the same
 * key run one after the other, in arrival order: a key is held from the moment a batch takes one
 * of its items until that batch ends, and its later items wait. Whatever piled up while batches
 * ran becomes the next batch.
 *
 * One batch at a time makes the largest batches (every per-batch cost paid least often), but a
 * batch that stalls (a slow commit, a slow outside call, a lock wait) would hold up every key
 * behind it. So, while fewer than `concurrency` run, another batch starts beside the running ones
 * once none of them has moved on for `spreadAfterMs` (`run` is given a `moved` callback to call
 * as each item is done). A long batch that keeps moving, as on a busy host, does not count as
 * stalled: more transactions at once would only make the host busier (docs/decisions/0018).
 */
export class Lanes<T> {
  private pending: { item: T; key: string }[] = [];
  private readonly running = new Set<Batch>();
  /** Keys some running batch has taken: their later items wait for it. */
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private startScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxBatch: number;

  constructor(
    concurrency: number,
    maxBatch: number,
    private readonly run: (batch: T[], moved: () => void) => Promise<void>,
    private readonly onError: (error: unknown) => void,
    private readonly spreadAfterMs = 0,
  ) {
    this.concurrency = Math.max(1, concurrency);
    this.maxBatch = Math.max(1, maxBatch);
  }

  push(item: T, key: string | undefined): void {
    this.pending.push({ item, key: key ?? NO_KEY });
    if (this.startScheduled) return;
    // Let the items that arrived in the same burst join one batch.
    this.startScheduled = true;
    setImmediate(() => {
      this.startScheduled = false;
      this.startBatches();
    });
  }

  /** Drops queued (not yet started) items, and returns them. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    this.pending = this.pending.filter((entry) => !predicate(entry.item) || (removed.push(entry.item), false));
    if (this.pending.length === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.settleIdle();
    return removed;
  }

  /** Resolves once nothing waits and nothing runs (items pushed meanwhile included). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private isIdle(): boolean {
    return this.running.size === 0 && this.pending.length === 0;
  }

  private settleIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Starts what may start now, and arms the timer for when another batch may start beside it. */
  private startBatches(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.pending.length > 0 && this.running.size < this.concurrency) {
      if (this.running.size > 0) {
        const wait = this.lastMoved() + this.spreadAfterMs - performance.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.startBatches(), Math.ceil(wait));
          return;
        }
      }
      if (!this.startOne()) return; // every pending item's key is held by a running batch
    }
  }

  private lastMoved(): number {
    let last = 0;
    for (const batch of this.running) last = Math.max(last, batch.movedAt);
    return last;
  }

  /** Takes the oldest pending items whose keys no running batch holds, and runs them; false if there were none. */
  private startOne(): boolean {
    const taken: T[] = [];
    const keys = new Set<string>();
    const left: { item: T; key: string }[] = [];
    for (const entry of this.pending) {
      if (taken.length < this.maxBatch && !this.held.has(entry.key)) {
        taken.push(entry.item);
        keys.add(entry.key);
      } else {
        left.push(entry);
      }
    }
    if (taken.length === 0) return false;
    this.pending = left;
    // Held from now on: a later item of one of these keys waits, even one left out of a full batch.
    for (const key of keys) this.held.add(key);
    const batch: Batch = { keys, movedAt: performance.now() };
    this.running.add(batch);
    void this.runBatch(batch, taken);
    return true;
  }

  private async runBatch(batch: Batch, items: T[]): Promise<void> {
    try {
      // Never synchronously: a `run` that throws at once must not re-enter `startBatches` from inside it.
      await Promise.resolve();
      await this.run(items, () => (batch.movedAt = performance.now()));
    } catch (error) {
      try {
        this.onError(error);
      } catch {
        // reporting must not strand the batch's keys
      }
    } finally {
      this.running.delete(batch);
      for (const key of batch.keys) this.held.delete(key);
      this.startBatches();
      this.settleIdle();
    }
  }
}
