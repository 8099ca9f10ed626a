/** FNV-1a: a cheap, stable spread of keys over lanes. */
export function laneOf(key: string, lanes: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % lanes;
}

interface Lane<T> {
  buffer: T[];
  draining: Promise<void> | undefined;
}

/**
 * Work queues that run side by side, each one batch at a time. Items with the same key always
 * land in the same lane, so they are handled one after the other, in arrival order; items of
 * different keys run in parallel. Whatever piled up in a lane while its last batch ran becomes its
 * next batch.
 */
export class Lanes<T> {
  private readonly lanes: Lane<T>[];

  constructor(
    count: number,
    private readonly maxBatch: number,
    private readonly run: (batch: T[]) => Promise<void>,
    private readonly onError: (error: unknown) => void,
  ) {
    this.lanes = Array.from({ length: Math.max(1, count) }, () => ({ buffer: [], draining: undefined }));
  }

  push(item: T, key: string | undefined): void {
    const lane = this.lanes[key === undefined ? 0 : laneOf(key, this.lanes.length)]!;
    lane.buffer.push(item);
    lane.draining ??= this.drain(lane);
  }

  /** Drops queued (not yet started) items, and returns them. */
  remove(predicate: (item: T) => boolean): T[] {
    const removed: T[] = [];
    for (const lane of this.lanes) {
      lane.buffer = lane.buffer.filter((item) => !predicate(item) || (removed.push(item), false));
    }
    return removed;
  }

  /** Resolves when every batch in hand has finished. */
  async idle(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.draining));
  }

  private async drain(lane: Lane<T>): Promise<void> {
    // Let the items that arrived in the same burst join one batch.
    await new Promise((resolve) => setImmediate(resolve));
    while (lane.buffer.length > 0) {
      const batch = lane.buffer.splice(0, this.maxBatch);
      try {
        await this.run(batch);
      } catch (error) {
        this.onError(error);
      }
    }
    lane.draining = undefined;
  }
}
