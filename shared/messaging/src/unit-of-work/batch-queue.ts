interface Batch {
  keys: Set<string>;
  /** When the batch last made progress: it started, or an item in it was done. */
  progressAt: number;
}

/** What runs each batch a `BatchQueue` takes. */
export interface BatchRunner<T> {
  /** Runs `batch`, calling `itemDone` as each item is done; settles every item, whatever happens. */
  runBatch(batch: T[], itemDone: () => void): Promise<void>;
}

export interface BatchQueueOptions<T> {
  /** Batches running at once, at most. */
  concurrency: number;
  /** Items in one batch, at most. */
  maxBatch: number;
  /** How long the running batches may go without finishing an item before another starts beside them (default 0). */
  spreadAfterMs?: number;
  runner: BatchRunner<T>;
  /** A runner that threw: a bug (each runner settles what it takes), reported and survived. */
  onError: (error: unknown) => void;
}

/** Every item without a key is one key: such items run one after the other, in arrival order. */
const NO_KEY = '';

/**
 * One queue of keyed work, taken in batches, up to `concurrency` batches at once; each batch is
 * one transaction for its runner. Items with the same key run one after the other, in arrival
 * order: a key is held from the moment a batch takes one of its items until that batch ends, and
 * its later items wait. Whatever piled up while batches ran becomes the next batch.
 *
 * One batch at a time makes the largest batches (every per-batch cost paid least often), but a
 * batch that stalls (a slow commit, a slow outside call, a lock wait) would hold up every key
 * behind it. So, while fewer than `concurrency` run, another batch starts beside the running ones
 * once none of them has finished an item for `spreadAfterMs` (the runner calls `itemDone` as each
 * item is done). A long batch that keeps finishing items, as on a busy host, does not count as
 * stalled: more transactions at once would only make the host busier (docs/decisions/0018).
 */
export class BatchQueue<T> {
  private pending: { item: T; key: string }[] = [];
  private readonly running = new Set<Batch>();
  /** Keys some running batch has taken: their later items wait for it. */
  private readonly held = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private startScheduled = false;
  private idleWaiters: (() => void)[] = [];
  private readonly concurrency: number;
  private readonly maxBatch: number;
  private readonly spreadAfterMs: number;

  constructor(private readonly options: BatchQueueOptions<T>) {
    this.concurrency = Math.max(1, options.concurrency);
    this.maxBatch = Math.max(1, options.maxBatch);
    this.spreadAfterMs = options.spreadAfterMs ?? 0;
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
        const wait = this.lastProgress() + this.spreadAfterMs - performance.now();
        if (wait > 0) {
          this.timer = setTimeout(() => this.startBatches(), Math.ceil(wait));
          return;
        }
      }
      if (!this.startOne()) return; // every pending item's key is held by a running batch
    }
  }

  private lastProgress(): number {
    let last = 0;
    for (const batch of this.running) last = Math.max(last, batch.progressAt);
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
    const batch: Batch = { keys, progressAt: performance.now() };
    this.running.add(batch);
    void this.runToEnd(batch, taken);
    return true;
  }

  private async runToEnd(batch: Batch, items: T[]): Promise<void> {
    try {
      // Never synchronously: a runner that throws at once must not re-enter `startBatches` from inside it.
      await Promise.resolve();
      await this.options.runner.runBatch(items, () => (batch.progressAt = performance.now()));
    } catch (error) {
      try {
        this.options.onError(error);
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
