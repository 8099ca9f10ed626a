import { randomUUID } from 'node:crypto';
import { startService } from '@troupe/service';
import { anEvent, eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { inventoryService } from '../src/main';
import { expectEnvelope, expectReady, startHarness, type Harness } from '@troupe/service-harness';

let inventory: Harness<Config>;

beforeAll(async () => {
  inventory = await startHarness({ label: 'inventory', loadConfig, service: inventoryService, publishesOn: 'inventory.events' });
});

afterAll(async () => {
  await inventory?.stop();
});

const customer = { customerId: 'cust-7', email: 'grace@example.com' };

/** A PaymentCompleted as the payment service would publish it, for `items` at 1000 cents each. */
const aPaymentCompleted = (items: { sku: string; quantity: number }[], orderId = randomUUID()) =>
  anEvent('PaymentCompleted', {
    orderId,
    data: {
      customer,
      items: items.map((i) => ({ ...i, unitPriceCents: 1000 })),
      amount: { amountCents: 1000 * items.reduce((n, i) => n + i.quantity, 0), currency: 'USD' },
    },
  });

const stockOf = async (sku: string) =>
  (await inventory.running.pool.query<{ available: number; reserved: number }>('SELECT available, reserved FROM stock WHERE sku = $1', [sku]))
    .rows[0];

const reservationsOf = async (orderId: string) =>
  (await inventory.running.pool.query<{ id: string; items: unknown }>('SELECT id, items FROM reservations WHERE order_id = $1', [orderId])).rows;

describe('on PaymentCompleted', () => {
  it('when the stock is there, then it moves from available to reserved, one reservation is stored and InventoryReserved is published', async () => {
    const mugsBefore = await stockOf('SKU-MUG');
    const hoodiesBefore = await stockOf('SKU-HOODIE');
    // The same SKU on two lines is one reservation of the sum.
    const paid = aPaymentCompleted([
      { sku: 'SKU-MUG', quantity: 2 },
      { sku: 'SKU-HOODIE', quantity: 1 },
      { sku: 'SKU-MUG', quantity: 1 },
    ]);

    await inventory.broker.publish('payment.events', paid);

    const [reserved] = await inventory.awaitPublished(paid.orderId, 'InventoryReserved');
    expectEnvelope(reserved!, 'InventoryReserved', paid.orderId);
    const reservations = await reservationsOf(paid.orderId);
    expect(reservations).toHaveLength(1);
    expect(reserved!.body.data).toEqual({
      reservationId: reservations[0]!.id,
      customer,
      items: [
        { sku: 'SKU-HOODIE', quantity: 1 },
        { sku: 'SKU-MUG', quantity: 3 },
      ],
    });
    expect(await stockOf('SKU-MUG')).toEqual({ available: mugsBefore!.available - 3, reserved: mugsBefore!.reserved + 3 });
    expect(await stockOf('SKU-HOODIE')).toEqual({ available: hoodiesBefore!.available - 1, reserved: hoodiesBefore!.reserved + 1 });
    expect(inventory.published(paid.orderId, 'InventoryRejected')).toHaveLength(0);
  });

  it('when a SKU is sold out, then InventoryRejected lists it and no stock of the order moves', async () => {
    const tshirtsBefore = await stockOf('SKU-TSHIRT');
    const soldOutBefore = await stockOf('SKU-SOLDOUT');
    const paid = aPaymentCompleted([
      { sku: 'SKU-TSHIRT', quantity: 1 },
      { sku: 'SKU-SOLDOUT', quantity: 2 },
    ]);

    await inventory.broker.publish('payment.events', paid);

    const [rejected] = await inventory.awaitPublished(paid.orderId, 'InventoryRejected');
    expectEnvelope(rejected!, 'InventoryRejected', paid.orderId);
    expect(rejected!.body.data).toEqual({
      customer,
      reason: 'not enough stock',
      unavailable: [{ sku: 'SKU-SOLDOUT', requested: 2, available: 0 }],
    });
    expect(await stockOf('SKU-TSHIRT')).toEqual(tshirtsBefore);
    expect(await stockOf('SKU-SOLDOUT')).toEqual(soldOutBefore);
    expect(await reservationsOf(paid.orderId)).toHaveLength(0);
    expect(inventory.published(paid.orderId, 'InventoryReserved')).toHaveLength(0);
  });

  it('when a SKU is not stocked at all, then it is rejected as having none available', async () => {
    const paid = aPaymentCompleted([{ sku: 'SKU-NEVER-HEARD-OF', quantity: 1 }]);

    await inventory.broker.publish('payment.events', paid);

    const [rejected] = await inventory.awaitPublished(paid.orderId, 'InventoryRejected');
    expect(rejected!.body.data.unavailable).toEqual([{ sku: 'SKU-NEVER-HEARD-OF', requested: 1, available: 0 }]);
  });

  it('when the same PaymentCompleted is delivered twice, then the stock is reserved once', async () => {
    const before = await stockOf('SKU-TSHIRT');
    const paid = aPaymentCompleted([{ sku: 'SKU-TSHIRT', quantity: 4 }]);

    const duplicates = () => inventory.metric('troupe_inbox_duplicates_total', { queue: 'inventory.payment.events' });
    const duplicatesBefore = await duplicates();

    await inventory.broker.publish('payment.events', paid);
    await inventory.broker.publish('payment.events', paid);

    await eventually(async () => (await duplicates()) === duplicatesBefore + 1, { what: 'the second delivery seen as a duplicate' });
    await inventory.awaitPublished(paid.orderId, 'InventoryReserved', 1);
    expect(await reservationsOf(paid.orderId)).toHaveLength(1);
    expect(await stockOf('SKU-TSHIRT')).toEqual({ available: before!.available - 4, reserved: before!.reserved + 4 });
  });

  it('when 30 paid orders compete for 5 units across two replicas, then exactly 5 are reserved and 25 rejected, and stock never goes negative', async () => {
    const sku = 'SKU-LIMITED-IT';
    await inventory.running.pool.query('INSERT INTO stock (sku, available) VALUES ($1, 5)', [sku]);
    // A second replica consuming the same queue and database: the reservations really race.
    const replica = await startService(inventoryService({ ...inventory.running.config, PORT: 0 }));
    try {
      await replica.messaging.ready();
      const payments = Array.from({ length: 30 }, () => aPaymentCompleted([{ sku, quantity: 1 }]));

      await Promise.all(payments.map((paid) => inventory.broker.publish('payment.events', paid)));

      const orderIds = new Set(payments.map((p) => p.orderId));
      const outcomes = async () => (await inventory.settled()).filter((m) => orderIds.has(m.body.orderId));
      await eventually(async () => (await outcomes()).length >= 30, { what: '30 outcomes published' });
      const published = await outcomes();
      expect(published).toHaveLength(30);
      expect(published.filter((m) => m.body.type === 'InventoryReserved')).toHaveLength(5);
      expect(published.filter((m) => m.body.type === 'InventoryRejected')).toHaveLength(25);
      expect(new Set(published.map((m) => m.body.orderId)).size).toBe(30);
      expect(await stockOf(sku)).toEqual({ available: 0, reserved: 5 });
      const { rows } = await inventory.running.pool.query<{ count: string }>(
        `SELECT count(*) FROM reservations WHERE items @> $1::jsonb`,
        [JSON.stringify([{ sku }])],
      );
      expect(Number(rows[0]!.count)).toBe(5);
      // Both replicas took their share, so the race was real.
      const handledByReplica = (await replica.registry.getSingleMetric('troupe_messages_consumed_total')?.get())?.values
        .filter((v) => v.labels.outcome === 'processed')
        .reduce((sum, v) => sum + v.value, 0);
      expect(handledByReplica).toBeGreaterThan(0);
      expect(handledByReplica).toBeLessThan(30);
    } finally {
      await replica.stop();
    }
  });
});

describe('GET /stock/:sku', () => {
  it('when the SKU is stocked, then it answers its available and reserved units', async () => {
    const response = await fetch(`${inventory.baseUrl}/stock/SKU-MUG`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ sku: 'SKU-MUG', ...(await stockOf('SKU-MUG')) });
  });

  it('when a reservation was made, then the stock it reports has moved', async () => {
    const before = (await (await fetch(`${inventory.baseUrl}/stock/SKU-HOODIE`)).json()) as { available: number; reserved: number };
    const paid = aPaymentCompleted([{ sku: 'SKU-HOODIE', quantity: 7 }]);
    await inventory.broker.publish('payment.events', paid);
    await inventory.awaitPublished(paid.orderId, 'InventoryReserved');

    const after = await (await fetch(`${inventory.baseUrl}/stock/SKU-HOODIE`)).json();

    expect(after).toEqual({ sku: 'SKU-HOODIE', available: before.available - 7, reserved: before.reserved + 7 });
  });

  it.each(['NOPE', 'not-a-sku'])('when the SKU %s is unknown, then 404 with a JSON error', async (sku) => {
    const response = await fetch(`${inventory.baseUrl}/stock/${sku}`);

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toEqual({ error: expect.stringContaining(sku) });
  });
});

describe('health and metrics', () => {
  it('when the service is connected, then /healthz and /readyz are 200 and /readyz shows its subscription consuming', async () => {
    expect((await fetch(`${inventory.baseUrl}/healthz`)).status).toBe(200);
    await expectReady(inventory.baseUrl, ['inventory.payment.events']);
  });

  it('when events were handled, then /metrics counts them by queue, type and outcome', async () => {
    expect(
      await inventory.metric('troupe_messages_consumed_total', { queue: 'inventory.payment.events', type: 'PaymentCompleted', outcome: 'processed' }),
    ).toBeGreaterThan(0);
    expect(await inventory.metric('troupe_messages_published_total', { exchange: 'inventory.events', type: 'InventoryReserved' })).toBeGreaterThan(0);
  });
});
