import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BatchQueue } from './batch-queue';

interface Item {
  key: string;
  n: number;
}

/** A batch queue over items whose batches end only when the test says so. */
function queue(options: { concurrency?: number; maxBatch?: number; spreadAfterMs?: number } = {}) {
  const batches: { items: Item[]; done: () => void; itemDone: () => void }[] = [];
  const errors: unknown[] = [];
  const subject = new BatchQueue<Item>({
    concurrency: options.concurrency ?? 4,
    maxBatch: options.maxBatch ?? 100,
    runner: { runBatch: (items, itemDone) => new Promise<void>((resolve) => batches.push({ items, done: resolve, itemDone })) },
    onError: (error) => errors.push(error),
    spreadAfterMs: options.spreadAfterMs ?? 50,
  });
  const push = (...items: Item[]) => items.forEach((item) => subject.push(item, item.key));
  const names = (i: number) => batches[i]!.items.map((item) => `${item.key}${item.n}`);
  return { subject, batches, errors, push, names };
}

const at = (key: string, n: number): Item => ({ key, n });
/** Runs what is due now: the burst's setImmediate, then the microtasks of batches that ended. */
const settle = () => vi.advanceTimersByTimeAsync(0);

describe('BatchQueue', () => {
  beforeEach(() => vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'performance'] }));
  afterEach(() => vi.useRealTimers());

  it('when items arrive in one burst, then they run as one batch, in arrival order', async () => {
    const { push, batches, names } = queue();
    push(at('a', 1), at('b', 1), at('a', 2));
    await settle();
    expect(batches).toHaveLength(1);
    expect(names(0)).toEqual(['a1', 'b1', 'a2']);
  });

  it('when batches are quick, then one runs at a time and what arrived meanwhile is the next batch', async () => {
    const { push, batches, names } = queue();
    push(at('a', 1));
    await settle();
    push(at('b', 1), at('c', 1), at('d', 1));
    await vi.advanceTimersByTimeAsync(49);
    expect(batches).toHaveLength(1); // b, c and d wait: the batch running has not run 50 ms yet
    batches[0]!.done();
    await settle();
    expect(batches).toHaveLength(2);
    expect(names(1)).toEqual(['b1', 'c1', 'd1']);
  });

  it('when a long batch keeps moving, then nothing starts beside it', async () => {
    const { push, batches } = queue();
    push(at('a', 1), at('b', 1), at('c', 1));
    await settle();
    push(at('d', 1));
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(40);
      batches[0]!.itemDone();
    }
    expect(batches).toHaveLength(1); // 120 ms, but never 50 without an item done
    await vi.advanceTimersByTimeAsync(50);
    expect(batches).toHaveLength(2);
  });

  it('when a batch stalls past spreadAfterMs, then keys it does not hold start beside it, and its own keys wait for it', async () => {
    const { push, batches, names } = queue();
    push(at('a', 1));
    await settle();
    push(at('a', 2), at('b', 1));
    await vi.advanceTimersByTimeAsync(50);
    expect(batches).toHaveLength(2);
    expect(names(1)).toEqual(['b1']);
    batches[1]!.done();
    await settle();
    expect(batches).toHaveLength(2); // a2 still waits for a1's batch
    batches[0]!.done();
    await settle();
    expect(names(2)).toEqual(['a2']);
  });

  it('when every running batch stalls, then no more than `concurrency` run at once', async () => {
    const { push, batches } = queue({ concurrency: 2 });
    for (const key of ['a', 'b', 'c']) {
      push(at(key, 1));
      await vi.advanceTimersByTimeAsync(60);
    }
    expect(batches).toHaveLength(2);
    batches[0]!.done();
    await settle();
    expect(batches).toHaveLength(3);
  });

  it('when spreadAfterMs is 0, then each burst starts at once, beside the running batches', async () => {
    const { push, batches } = queue({ spreadAfterMs: 0 });
    push(at('a', 1));
    await settle();
    push(at('b', 1));
    await settle();
    expect(batches).toHaveLength(2);
  });

  it('when more items wait than a batch takes, then the rest of a key taken waits for that batch', async () => {
    const { push, batches, names } = queue({ maxBatch: 2 });
    push(at('a', 1), at('b', 1), at('a', 2), at('c', 1));
    await settle();
    expect(names(0)).toEqual(['a1', 'b1']);
    await vi.advanceTimersByTimeAsync(50);
    expect(names(1)).toEqual(['c1']); // a2 is held by the first batch
    batches[0]!.done();
    batches[1]!.done();
    await settle();
    expect(names(2)).toEqual(['a2']);
  });

  it('when a batch throws, then the error is reported and the next batch still runs', async () => {
    const errors: unknown[] = [];
    const seen: number[][] = [];
    const subject = new BatchQueue<number>({
      concurrency: 1,
      maxBatch: 10,
      runner: {
        runBatch: async (items) => {
          seen.push(items);
          if (items.includes(1)) throw new Error('boom');
        },
      },
      onError: (error) => errors.push(error),
      spreadAfterMs: 50,
    });
    subject.push(1, 'a');
    await settle();
    subject.push(2, 'a');
    await settle();
    expect(seen).toEqual([[1], [2]]);
    expect(errors).toEqual([new Error('boom')]);
  });

  it('idle waits for what is running and queued; remove hands back what has not started', async () => {
    const { subject, push, batches, names } = queue({ concurrency: 1 });
    push(at('a', 1));
    await settle();
    push(at('b', 1), at('c', 1));
    let idle = false;
    void subject.idle().then(() => (idle = true));
    expect(subject.remove((item) => item.key === 'b')).toEqual([at('b', 1)]);
    batches[0]!.done();
    await settle();
    expect(names(1)).toEqual(['c1']); // b1 is gone
    expect(idle).toBe(false);
    batches[1]!.done();
    await settle();
    expect(idle).toBe(true);
    expect(batches).toHaveLength(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('when the last waiting item is removed and nothing runs, then idle resolves', async () => {
    const { subject, push, batches } = queue();
    push(at('a', 1));
    subject.remove(() => true);
    await subject.idle();
    await settle();
    expect(batches).toHaveLength(0);
  });

  it('when one running batch stalls but another moves, then nothing more starts', async () => {
    const { push, batches } = queue();
    push(at('a', 1));
    await vi.advanceTimersByTimeAsync(50);
    push(at('b', 1));
    await vi.advanceTimersByTimeAsync(50);
    expect(batches).toHaveLength(2); // a1's batch stalled: b1 started beside it
    batches[1]!.itemDone();
    push(at('c', 1));
    for (let i = 0; i < 3; i++) {
      await vi.advanceTimersByTimeAsync(40);
      batches[1]!.itemDone();
    }
    expect(batches).toHaveLength(2);
  });

  it('when items have no key, then they run one after the other, as one key', async () => {
    const batches: { items: number[]; done: () => void }[] = [];
    const subject = new BatchQueue<number>({
      concurrency: 4,
      maxBatch: 100,
      runner: { runBatch: (items) => new Promise<void>((resolve) => batches.push({ items, done: resolve })) },
      onError: () => undefined,
      spreadAfterMs: 50,
    });
    subject.push(1, undefined);
    await settle();
    subject.push(2, undefined);
    await vi.advanceTimersByTimeAsync(200);
    expect(batches.map((b) => b.items)).toEqual([[1]]); // 2 waits for 1, however long it stalls
    batches[0]!.done();
    await settle();
    expect(batches.map((b) => b.items)).toEqual([[1], [2]]);
  });
});
