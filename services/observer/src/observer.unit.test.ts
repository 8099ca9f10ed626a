import { randomUUID } from 'node:crypto';
import { asyncApiDocument, type ObserverInvariant } from '@troupe/contracts';
import type { ConsumeMessage } from 'amqplib';
import pino from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { Config } from './config';
import { choreographyOf } from './domain/choreography';
import { observerMetrics } from './metrics';
import { Observer } from './observer';
import type { Reads } from './reads/upstream';

const EXCHANGE: Record<string, string> = {
  OrderPlaced: 'order.events',
  PaymentCompleted: 'payment.events',
  PaymentFailed: 'payment.events',
  InventoryReserved: 'inventory.events',
  NotificationSent: 'notification.events',
};

const SETTINGS = {
  OBSERVER_WINDOW_MS: 60_000,
  OBSERVER_MAX_ORDERS: 100,
  OBSERVER_SETTLE_WITHIN_MS: 1000,
  OBSERVER_CONSISTENCY_GRACE_MS: 100,
  OBSERVER_EVENT_LAG_MS: 100,
  OBSERVER_LEDGER_RECHECK_MS: 500,
  OBSERVER_CHECK_INTERVAL_MS: 100,
  OBSERVER_READS_PER_CHECK: 20,
  OBSERVER_SILENCE_WINDOW_MS: 600_000,
  OBSERVER_SILENCE_MIN_ORDERS: 1000,
} satisfies Partial<Config>;

/** An answer the fake services give to a GET path, or undefined (no answer); it may wait. */
type Answer = (path: string) => unknown;

/**
 * The observer on a fake clock, fed messages by hand, reading services that answer what `answer`
 * says: the rounds' logic without a broker or a network.
 */
function anObserver(settings: Partial<typeof SETTINGS> = {}, answer: Answer = () => undefined) {
  const clock = { now: 0 };
  const paths: string[] = [];
  const reads = {
    hasOperatorToken: true,
    get: async (_target: string, path: string) => {
      paths.push(path);
      const body = await answer(path);
      return body === undefined ? undefined : { status: 200, body };
    },
  } as unknown as Reads;
  const registry = new Registry();
  const observer = new Observer({
    settings: { ...SETTINGS, ...settings },
    choreography: choreographyOf(asyncApiDocument()),
    reads,
    depth: async () => undefined,
    metrics: observerMetrics(registry, () => undefined),
    logger: pino({ level: 'silent' }),
    now: () => clock.now,
  });
  const publish = (type: string, orderId: string, data: Record<string, unknown> = {}, id = randomUUID()) =>
    observer.onMessage(EXCHANGE[type]!, { content: Buffer.from(JSON.stringify({ id, type, version: 1, occurredAt: new Date(clock.now).toISOString(), orderId, data })), properties: {} } as ConsumeMessage);
  const at = async (ms: number) => {
    clock.now = ms;
    await observer.check();
  };
  const open = (invariant?: ObserverInvariant) => observer.invariants().open.filter((v) => invariant === undefined || v.invariant === invariant);
  return { observer, clock, paths, publish, at, open, registry };
}

const confirmed = { kind: 'ORDER_CONFIRMED' };

describe('the observer, round by round', () => {
  it('when the watch reconnects while an order is under way, then an event lost in the gap raises no violation; the same order seen whole does', async () => {
    const { observer, clock, publish, at, open } = anObserver();
    observer.onGap(0);
    const inPart = randomUUID();
    clock.now = 1000;
    publish('OrderPlaced', inPart);
    // Its PaymentCompleted went by while the connection was down.
    observer.onGap(2000);
    clock.now = 2500;
    publish('InventoryReserved', inPart, { items: [{ sku: 'SKU-FORGED', quantity: 1 }] });
    publish('NotificationSent', inPart, confirmed);
    // Placed well after the gap, seen whole: it lacks its PaymentCompleted for real.
    const late = randomUUID();
    clock.now = 3000;
    publish('OrderPlaced', late);
    publish('InventoryReserved', late, { items: [{ sku: 'SKU-FORGED', quantity: 1 }] });
    publish('NotificationSent', late, confirmed);
    await at(10_000);
    expect(open().map((v) => [v.invariant, v.orderId, v.detail])).toEqual([['events-consistent', late, 'InventoryReserved without a PaymentCompleted']]);
  });

  it('when the observer starts while orders are under way, then an order whose OrderPlaced it did not see is not judged', async () => {
    const { observer, clock, publish, at, open } = anObserver();
    observer.onGap(0);
    clock.now = 500;
    const orderId = randomUUID();
    publish('InventoryReserved', orderId, { items: [{ sku: 'SKU-FORGED', quantity: 1 }] });
    publish('NotificationSent', orderId, confirmed);
    await at(10_000);
    expect(open()).toEqual([]);
    expect(observer.invariants().found['events-consistent']).toBe(0);
  });

  it('when an overdue order has a message kept in a dead-letter queue, then it is left alone; once that letter is purged, it is reported', async () => {
    const orderId = randomUUID();
    let kept = 1;
    const harness = anObserver({}, (path) => (path === `/dead-letters/count?orderId=${orderId}` ? { count: kept } : undefined));
    harness.observer.onGap(0);
    harness.clock.now = 500;
    harness.publish('OrderPlaced', orderId);
    await harness.at(2000);
    expect(harness.paths).toContain(`/dead-letters/count?orderId=${orderId}`);
    expect(harness.open('order-settles')).toEqual([]);
    kept = 0;
    await harness.at(60_000);
    expect(harness.open('order-settles').map((v) => v.orderId)).toEqual([orderId]);
  });

  it('when an overdue order settles while its dead letters are being counted, then it is not reported', async () => {
    const orderId = randomUUID();
    const pending: (() => void)[] = [];
    const harness = anObserver({}, (path) =>
      path.startsWith('/dead-letters/count') ? new Promise((resolve) => pending.push(() => resolve({ count: 0 }))) : undefined,
    );
    harness.observer.onGap(0);
    harness.clock.now = 500;
    harness.publish('OrderPlaced', orderId);
    harness.clock.now = 2000;
    const round = harness.observer.check();
    await expect.poll(() => pending.length).toBe(4);
    harness.publish('PaymentFailed', orderId);
    for (const answer of pending) answer();
    await round;
    expect(harness.open()).toEqual([]);
    expect(harness.observer.invariants().found['order-settles']).toBe(0);
  });

  it("when the round's reads run short, then a paid order's first ledger read goes before the overdue orders', and what is put off is counted", async () => {
    const { observer, clock, paths, publish, at, registry } = anObserver({ OBSERVER_READS_PER_CHECK: 4 });
    observer.onGap(0);
    clock.now = 500;
    for (let i = 0; i < 3; i += 1) publish('OrderPlaced', randomUUID());
    await at(2000);
    const paid = randomUUID();
    publish('OrderPlaced', paid);
    publish('PaymentCompleted', paid);
    paths.length = 0;
    await at(2100);
    expect(paths.filter((p) => p.startsWith('/ledger') || p.startsWith('/dead-letters/count?'))).toEqual([`/ledger?orderId=${paid}`]);
    expect(await registry.getSingleMetricAsString('troupe_observer_reads_deferred_total')).toMatch(/read="dead-letters"\} [1-9]/);
  });

  it('when a stock violation is resolved, then the SKU is judged again from a new baseline, and a new mismatch opens again', async () => {
    let reserved = 0;
    const { observer, clock, publish, at, open } = anObserver({}, (path) => (path.startsWith('/stock/') ? { sku: 'SKU-MUG', available: 100, reserved } : undefined));
    observer.onGap(0);
    clock.now = 100;
    const orderId = randomUUID();
    publish('OrderPlaced', orderId);
    publish('PaymentCompleted', orderId);
    publish('InventoryReserved', orderId, { items: [{ sku: 'SKU-MUG', quantity: 3 }] });
    reserved = 3;
    // Rounds every 200 ms: a read, then its judgement a lag later.
    const rounds = async (from: number, n: number) => {
      for (let i = 0; i < n; i += 1) await at(from + 200 * i);
    };
    await rounds(400, 3);
    expect(observer.invariants().stock).toEqual([expect.objectContaining({ sku: 'SKU-MUG', baselineTaken: true })]);
    reserved = 8; // changed by hand
    await rounds(1000, 6);
    expect(open('stock-matches').map((v) => v.detail)).toEqual(['inventory reports 8 reserved; the InventoryReserved seen put it at 3']);
    // The operator decides 8 is right: resolved, the figure is judged again from 8.
    expect(observer.resolve('stock-matches:SKU-MUG')).toBe(true);
    await rounds(2400, 6);
    expect(observer.invariants().stock[0]?.baselineTaken).toBe(true);
    expect(open('stock-matches')).toEqual([]);
    reserved = 9;
    await rounds(3800, 6);
    expect(open('stock-matches').map((v) => v.detail)).toEqual(['inventory reports 9 reserved; the InventoryReserved seen put it at 8']);
  });

  it('when the window is full, then the order evicted takes its violations with it', async () => {
    const { observer, clock, publish, at, open } = anObserver({ OBSERVER_MAX_ORDERS: 2 });
    observer.onGap(0);
    clock.now = 500;
    const [first, second] = [randomUUID(), randomUUID()];
    for (const orderId of [first, second]) publish('OrderPlaced', orderId);
    await at(2000);
    expect(open('order-settles').map((v) => v.orderId).sort()).toEqual([first, second].sort());
    // Every order held by a violation: the oldest goes, and its violation with it.
    publish('OrderPlaced', randomUUID());
    expect(open('order-settles').map((v) => v.orderId)).toEqual([second]);
    expect(observer.violations.openCounts()['order-settles']).toBe(1);
  });
});
