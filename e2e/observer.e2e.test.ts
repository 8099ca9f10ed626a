import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OBSERVER_INVARIANTS, type ObserverInvariants, type ObserverMap, type Violation } from '@troupe/contracts';
import { anEvent, eventually, query } from '@troupe/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, reaches, settled } from './support/api';
import { useSystem } from './support/hooks';
import { OBSERVER_ADMIN_TOKEN, startObserver } from './support/observer';
import { operatorHeaders, type ServiceProcess } from './support/system';

const SETTLE_WITHIN_MS = 3000;
const OBSERVER_ENV = {
  OBSERVER_SETTLE_WITHIN_MS: String(SETTLE_WITHIN_MS),
  OBSERVER_CONSISTENCY_GRACE_MS: '300',
  OBSERVER_EVENT_LAG_MS: '1000',
  OBSERVER_LEDGER_RECHECK_MS: '300',
};

/**
 * The observer against the whole system: the map drawn from the contract with the traffic on it,
 * drift when something off the contract is published, and each business invariant broken on
 * purpose, seen in /invariants and /metrics, and mended.
 */
describe('the observer', () => {
  const ctx = useSystem('observer');
  let url: string;
  let main: ServiceProcess;

  beforeAll(async () => {
    ({ url, proc: main } = await startObserver(ctx.system, OBSERVER_ENV));
  });

  const read = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`, { headers: operatorHeaders, signal: AbortSignal.timeout(5000) });
    if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as T;
  };
  const metrics = async () => (await fetch(`${url}/metrics`)).text();
  const series = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels}[^}]*\\} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const openViolation = (invariant: Violation['invariant'], subject: (v: Violation) => boolean) =>
    eventually(async () => (await read<ObserverInvariants>('/invariants')).open.find((v) => v.invariant === invariant && subject(v)), { timeoutMs: 20_000, intervalMs: 100, what: `${invariant} to open` });
  const closed = (id: string) =>
    eventually(async () => !(await read<ObserverInvariants>('/invariants')).open.some((v) => v.id === id), { timeoutMs: 20_000, intervalMs: 100, what: `${id} to close` });
  const resolve = (id: string, token = OBSERVER_ADMIN_TOKEN) =>
    fetch(`${url}/admin/invariants/${encodeURIComponent(id)}/resolve`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });

  it('when orders flow, then the map shows the contract\'s edges with their traffic, and each subscription\'s queue', async () => {
    const order = await placeOrder(ctx.system);
    await settled(ctx.system, order.orderId);
    const map = await eventually(
      async () => {
        const m = await read<ObserverMap>('/map');
        const quiet = m.subscriptions.every((s) => s.unacked === 0 && s.ready === 0);
        return quiet && m.services.every((s) => s.ready === true && s.deadLetters === 0) && m.edges.find((e) => e.id === 'notification.events/NotificationSent/order')?.perMinute ? m : undefined;
      },
      { timeoutMs: 15_000, what: 'the map to show the order' },
    );
    expect(map.services.map((s) => s.name).sort()).toEqual(['inventory', 'notification', 'order', 'payment']);
    expect(map.edges.filter((e) => e.declared)).toHaveLength(12);
    expect(map.edges.find((e) => e.id === 'order.events/OrderPlaced/payment')).toMatchObject({ producer: 'order', queue: 'payment.order.events', perMinute: 1, silent: false });
    expect(map.ordersPerMinute).toBe(1);
    const inventory = map.subscriptions.find((s) => s.queue === 'inventory.payment.events');
    expect(inventory).toEqual({ queue: 'inventory.payment.events', service: 'inventory', exchange: 'payment.events', declared: true, ready: 0, unacked: 0, consuming: true, pausedBy: [], consumers: 1 });
    expect(map.subscriptions).toHaveLength(8);
    expect(map.drift).toEqual([]);
  });

  it('when an undeclared type and an unknown version are published, then both are drift on the map, counted, with a sample', async () => {
    const stray = { id: randomUUID(), type: 'OrderTeleported', version: 1, occurredAt: new Date().toISOString(), orderId: randomUUID(), data: { where: 'moon' } };
    await ctx.broker.publish('order.events', stray);
    await ctx.broker.publish('order.events', { ...stray, id: randomUUID() });
    await ctx.broker.publish('payment.events', { ...anEvent('PaymentFailed'), version: 9 });
    const map = await eventually(
      async () => {
        const m = await read<ObserverMap>('/map');
        return m.drift.some((d) => d.kind === 'undeclared-type' && d.count === 2) && m.drift.some((d) => d.kind === 'unknown-version') ? m : undefined;
      },
      { timeoutMs: 10_000, what: 'the drift' },
    );
    const undeclared = map.drift.find((d) => d.kind === 'undeclared-type');
    expect(undeclared).toMatchObject({ exchange: 'order.events', type: 'OrderTeleported', count: 2 });
    // A sample is a message body: the admin token's to read, not the read token's (docs/decisions/0029).
    expect(undeclared?.sample).toBeUndefined();
    const asAdmin = (await (await fetch(`${url}/map`, { headers: { authorization: `Bearer ${OBSERVER_ADMIN_TOKEN}` } })).json()) as ObserverMap;
    expect(asAdmin.drift.find((d) => d.kind === 'undeclared-type')?.sample).toContain('"where":"moon"');
    expect(map.drift.find((d) => d.kind === 'unknown-version')).toMatchObject({ exchange: 'payment.events', type: 'PaymentFailed', version: 9, count: 1 });
    // A fanout exchange hands the stray type to every queue bound to it: an undeclared edge to its subscriber.
    expect(map.edges.find((e) => e.id === 'order.events/OrderTeleported/payment')).toMatchObject({ declared: false, perMinute: 2 });
    const text = await metrics();
    expect(series(text, 'troupe_observer_drift', 'kind="undeclared-type"')).toBe(1);
    expect(series(text, 'troupe_observer_messages_total', 'exchange="order.events",type="OrderTeleported",declared="false"')).toBe(2);
  });

  it('when notification is stopped past the settle bound, then order-settles opens with the trace; started again, it clears', async () => {
    await ctx.system.stop('notification');
    const order = await placeOrder(ctx.system);
    try {
      const violation = await openViolation('order-settles', (v) => v.orderId === order.orderId && v.traceId !== undefined);
      expect(violation.traceId).toBe(order.traceId);
      expect(violation.id).toBe(`order-settles:${order.orderId}`);
      expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="order-settles"')).toBe(1);
      expect((await read<ObserverMap>('/map')).services.find((s) => s.name === 'notification')?.ready).toBeNull();
    } finally {
      await ctx.system.start('notification');
    }
    await closed(`order-settles:${order.orderId}`);
    const text = await metrics();
    expect(series(text, 'troupe_invariant_violations_open', 'invariant="order-settles"')).toBe(0);
    expect(series(text, 'troupe_invariant_violations_total', 'invariant="order-settles"')).toBeGreaterThanOrEqual(1);
  });

  it('when an InventoryReserved is forged for a declined order, then events-consistent opens, and an operator resolves it', async () => {
    const order = await placeOrder(ctx.system, { paymentMethod: { token: 'tok_declined' } });
    await settled(ctx.system, order.orderId);
    // A SKU the inventory does not stock: the forged reservation is no stock figure to hold against it.
    await ctx.broker.publish('inventory.events', anEvent('InventoryReserved', { orderId: order.orderId, data: { items: [{ sku: 'SKU-FORGED', quantity: 1 }] } }));
    // The notification the forged event brought is one too many at once; the PaymentCompleted is missing once the settle bound has passed.
    const violation = await openViolation('events-consistent', (v) => v.orderId === order.orderId && v.detail.includes('InventoryReserved without a PaymentCompleted'));
    expect(violation.detail).toBe('2 NotificationSent for a CANCELLED order: exactly one expected; InventoryReserved without a PaymentCompleted');
    expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="events-consistent"')).toBe(1);

    expect((await resolve(violation.id, 'not-the-admin-token-at-all')).status).toBe(401);
    const resolved = await resolve(violation.id);
    expect(resolved.status).toBe(200);
    expect(await resolved.json()).toEqual({ resolved: violation.id });
    expect((await read<ObserverInvariants>('/invariants')).open.some((v) => v.id === violation.id)).toBe(false);
    expect((await resolve(violation.id)).status).toBe(404);
    expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="events-consistent"')).toBe(0);
  });

  it("when inventory's reserved figure is changed by hand, then stock-matches opens; put back, it clears", async () => {
    const order = await placeOrder(ctx.system, { items: [{ sku: 'SKU-MUG', quantity: 3 }] });
    await settled(ctx.system, order.orderId);
    await eventually(async () => (await read<ObserverInvariants>('/invariants')).stock.find((s) => s.sku === 'SKU-MUG' && s.baselineTaken && s.reservedSeen === 3), {
      timeoutMs: 10_000,
      what: 'the baseline of SKU-MUG',
    });
    const inventoryDb = ctx.system.databaseUrl('inventory');
    await query(inventoryDb, "UPDATE stock SET reserved = reserved + 5 WHERE sku = 'SKU-MUG'");
    try {
      const violation = await openViolation('stock-matches', (v) => v.sku === 'SKU-MUG');
      expect(violation.detail).toBe('inventory reports 8 reserved; the InventoryReserved seen put it at 3');
      expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="stock-matches"')).toBe(1);
    } finally {
      await query(inventoryDb, "UPDATE stock SET reserved = reserved - 5 WHERE sku = 'SKU-MUG'");
    }
    await closed('stock-matches:SKU-MUG');
    expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="stock-matches"')).toBe(0);
  });

  it('when orders are placed together, then the stock, read while their events are on their way, raises no false alarm', async () => {
    const before = (await read<ObserverInvariants>('/invariants')).found['stock-matches'];
    const orders = await Promise.all(Array.from({ length: 20 }, (_, i) => placeOrder(ctx.system, { items: [{ sku: i % 2 ? 'SKU-MUG' : 'SKU-HOODIE', quantity: 1 + (i % 3) }] })));
    await Promise.all(orders.map((o) => settled(ctx.system, o.orderId)));
    const allSettled = Date.now();
    // Both SKUs judged from reads sent after every reservation: all the load has been held against the events.
    await eventually(
      async () => {
        const { stock } = await read<ObserverInvariants>('/invariants');
        return ['SKU-MUG', 'SKU-HOODIE'].every((sku) => Date.parse(stock.find((s) => s.sku === sku)?.lastJudgedAt ?? '') > allSettled);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'a read of each SKU after the load' },
    );
    const after = await read<ObserverInvariants>('/invariants');
    expect(after.found['stock-matches']).toBe(before);
    expect(after.open.filter((v) => v.invariant === 'stock-matches')).toEqual([]);
  });

  it('when a paid order is charged again at the gateway, then one-charge-per-paid-order opens', async () => {
    const order = await placeOrder(ctx.system);
    await settled(ctx.system, order.orderId);
    const charge = await fetch(`${ctx.system.baseUrl('gateway')}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `extra-${order.orderId}` },
      body: JSON.stringify({ orderId: order.orderId, amountCents: order.total.amountCents, currency: order.total.currency, token: 'tok_visa' }),
    });
    expect(charge.status).toBe(201);
    // The trace is asked of the order service within a round's budget of reads: it may follow the violation by a round.
    const violation = await openViolation('one-charge-per-paid-order', (v) => v.orderId === order.orderId && v.traceId !== undefined);
    expect(violation).toMatchObject({ traceId: order.traceId, detail: expect.stringContaining('2 approved charges') });
    expect(series(await metrics(), 'troupe_invariant_violations_open', 'invariant="one-charge-per-paid-order"')).toBe(1);
    expect((await resolve(violation.id)).status).toBe(200);
  });

  it('when read without a token, then /map and /invariants are refused; every invariant is counted', async () => {
    expect((await fetch(`${url}/map`)).status).toBe(401);
    expect((await fetch(`${url}/invariants`)).status).toBe(401);
    const { found } = await read<ObserverInvariants>('/invariants');
    expect(Object.keys(found).sort()).toEqual([...OBSERVER_INVARIANTS].sort());
  });
  it('when the observer restarts while an order is under way, then the order it saw only in part raises no violation', async () => {
    await ctx.system.stop('inventory');
    let order;
    try {
      order = await placeOrder(ctx.system);
      await reaches(ctx.system, order.orderId, 'PAID');
      // A new process: the OrderPlaced and PaymentCompleted went by before its queues existed.
      await main.stop();
      ({ url, proc: main } = await startObserver(ctx.system, OBSERVER_ENV));
    } finally {
      await ctx.system.start('inventory');
    }
    await settled(ctx.system, order.orderId);
    const settledAt = Date.now();
    // Past the settle bound, when a missing PaymentCompleted would be reported of an order seen whole.
    const after = await eventually(async () => {
      const invariants = await read<ObserverInvariants>('/invariants');
      return Date.parse(invariants.checkedAt) > settledAt + SETTLE_WITHIN_MS + 500 ? invariants : undefined;
    }, { timeoutMs: 15_000, what: 'a round past the settle bound' });
    expect(after.open).toEqual([]);
    expect(after.found['events-consistent']).toBe(0);
  });

  it("when the contract it is given lacks a service's subscription, then that queue is an undeclared subscription on its map", async () => {
    const document = JSON.parse(readFileSync(join(__dirname, '..', 'docs', 'contracts', 'asyncapi.json'), 'utf8')) as { operations: Record<string, unknown> };
    delete document.operations.inventoryReceivesPaymentEvents;
    const dir = mkdtempSync(join(tmpdir(), 'troupe-asyncapi-'));
    writeFileSync(join(dir, 'asyncapi.json'), JSON.stringify(document));
    // Its queues are exclusive: one observer per vhost, so this one takes the place of the first.
    await main.stop();
    const other = await startObserver(ctx.system, { ASYNCAPI_PATH: join(dir, 'asyncapi.json') });
    try {
      const read = async () => (await (await fetch(`${other.url}/map`, { headers: operatorHeaders })).json()) as ObserverMap;
      const map = await eventually(async () => ((await read()).drift.length > 0 ? read() : undefined), { timeoutMs: 10_000, what: 'the drift of the other observer' });
      expect(map.drift).toEqual([expect.objectContaining({ kind: 'undeclared-subscription', exchange: 'payment.events', queue: 'inventory.payment.events', count: 1 })]);
      expect(map.subscriptions.find((s) => s.queue === 'inventory.payment.events')).toMatchObject({ service: 'inventory', declared: false, consuming: true });
      expect(map.edges.some((e) => e.subscriber === 'inventory')).toBe(false);
    } finally {
      await other.proc.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

});
