import { HEADER, type OrderView } from '@troupe/contracts';
import { anEvent, anOrderRequest, eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { orderService } from '../src/main';
import { startHarness, type Harness } from '@troupe/service-harness';

// The order service following its orders: events from the other services move each order's status
// forward (never back) and land in its history.
let order: Harness<Config>;

beforeAll(async () => {
  order = await startHarness({ label: 'order_tracking', loadConfig, service: orderService, publishesOn: 'order.events' });
});

afterAll(async () => {
  await order?.stop();
});


/** Places an order over HTTP, as a customer would. */
async function aPlacedOrder(): Promise<OrderView> {
  const response = await fetch(`${order.baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anOrderRequest()),
  });
  expect(response.status).toBe(202);
  return (await response.json()) as OrderView;
}

const getOrder = async (orderId: string): Promise<OrderView> => {
  const response = await fetch(`${order.baseUrl}/orders/${orderId}`);
  expect(response.status).toBe(200);
  return (await response.json()) as OrderView;
};

/** Waits until the order's history has `count` entries of `type` (the event was handled), and returns the order. */
const afterHandling = (orderId: string, type: string, count = 1) =>
  eventually(
    async () => {
      const view = await getOrder(orderId);
      return view.history.filter((h) => h.type === type).length >= count && view;
    },
    { what: `${type} in the history of ${orderId}` },
  );

const exchangeOf = { PaymentCompleted: 'payment.events', PaymentFailed: 'payment.events', PaymentRefunded: 'payment.events', InventoryReserved: 'inventory.events', InventoryRejected: 'inventory.events', NotificationSent: 'notification.events' } as const;

/** Publishes an event about `orderId` where its producer would, and waits until the order service handled it. */
async function deliver(orderId: string, type: keyof typeof exchangeOf, data: Record<string, unknown> = {}): Promise<OrderView> {
  const event = anEvent(type, { orderId, data: data as never });
  await order.broker.publish(exchangeOf[type], event);
  return afterHandling(orderId, type);
}

const confirmed = { kind: 'ORDER_CONFIRMED' };
const declinedNotice = { kind: 'PAYMENT_DECLINED' };
const refundNotice = { kind: 'ORDER_CANCELLED_REFUNDED' };

describe('the happy path', () => {
  it('when payment, reservation and confirmation arrive in turn, then PENDING → PAID → RESERVED → COMPLETED with the history in order', async () => {
    const completedBefore = await order.metric('troupe_orders_completed_total');
    const { orderId } = await aPlacedOrder();

    expect((await deliver(orderId, 'PaymentCompleted')).status).toBe('PAID');
    expect((await deliver(orderId, 'InventoryReserved')).status).toBe('RESERVED');
    const done = await deliver(orderId, 'NotificationSent', confirmed);

    expect(done.status).toBe('COMPLETED');
    expect(done.history.map((h) => h.type)).toEqual(['OrderPlaced', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']);
    const times = done.history.map((h) => Date.parse(h.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(await order.metric('troupe_orders_completed_total')).toBe(completedBefore + 1);
    expect(await order.metric('troupe_order_completion_duration_seconds_count', { status: 'COMPLETED' })).toBeGreaterThanOrEqual(1);
    const { rows } = await order.running.pool.query('SELECT status FROM orders WHERE id = $1', [orderId]);
    expect(rows).toEqual([{ status: 'COMPLETED' }]);
  });
});

describe('events out of order', () => {
  it('when the confirmation arrives before the payment, then the order is COMPLETED and never moves back', async () => {
    const { orderId } = await aPlacedOrder();

    expect((await deliver(orderId, 'NotificationSent', confirmed)).status).toBe('COMPLETED');
    expect((await deliver(orderId, 'PaymentCompleted')).status).toBe('COMPLETED');
    const done = await deliver(orderId, 'InventoryReserved');

    expect(done.status).toBe('COMPLETED');
    expect(done.history.map((h) => h.type)).toEqual(['OrderPlaced', 'NotificationSent', 'PaymentCompleted', 'InventoryReserved']);
  });

  it('when the reservation arrives before the payment, then the order is RESERVED and stays so', async () => {
    const { orderId } = await aPlacedOrder();

    expect((await deliver(orderId, 'InventoryReserved')).status).toBe('RESERVED');
    expect((await deliver(orderId, 'PaymentCompleted')).status).toBe('RESERVED');
  });
});

describe('cancellations', () => {
  it('when payment fails, then the order is CANCELLED and the decline notice lands in the history without changing it', async () => {
    const cancelledBefore = await order.metric('troupe_orders_cancelled_total');
    const { orderId } = await aPlacedOrder();

    expect((await deliver(orderId, 'PaymentFailed')).status).toBe('CANCELLED');
    const notified = await deliver(orderId, 'NotificationSent', declinedNotice);

    expect(notified.status).toBe('CANCELLED');
    expect(notified.history.map((h) => h.type)).toEqual(['OrderPlaced', 'PaymentFailed', 'NotificationSent']);
    expect(await order.metric('troupe_orders_cancelled_total')).toBe(cancelledBefore + 1);
  });

  it('when stock is rejected, then the order stays PAID until the refund cancels it', async () => {
    const { orderId } = await aPlacedOrder();
    await deliver(orderId, 'PaymentCompleted');

    expect((await deliver(orderId, 'InventoryRejected')).status).toBe('PAID');
    expect((await deliver(orderId, 'PaymentRefunded')).status).toBe('CANCELLED');
    const notified = await deliver(orderId, 'NotificationSent', refundNotice);

    expect(notified.status).toBe('CANCELLED');
    expect(notified.history.map((h) => h.type)).toEqual(['OrderPlaced', 'PaymentCompleted', 'InventoryRejected', 'PaymentRefunded', 'NotificationSent']);
  });

  it('when a confirmation arrives for a cancelled order, then it stays CANCELLED', async () => {
    const { orderId } = await aPlacedOrder();
    await deliver(orderId, 'PaymentFailed');

    expect((await deliver(orderId, 'NotificationSent', confirmed)).status).toBe('CANCELLED');
  });
});

describe('delivery', () => {
  it('when the same event is delivered twice, then it is in the history once', async () => {
    const { orderId } = await aPlacedOrder();
    const duplicates = () => order.metric('troupe_inbox_duplicates_total', { queue: 'order.payment.events' });
    const duplicatesBefore = await duplicates();
    const paid = anEvent('PaymentCompleted', { orderId });

    await order.broker.publish('payment.events', paid);
    await order.broker.publish('payment.events', paid);

    await eventually(async () => (await duplicates()) === duplicatesBefore + 1, { what: 'the second delivery seen as a duplicate' });
    const view = await getOrder(orderId);
    expect(view.status).toBe('PAID');
    expect(view.history.map((h) => h.type)).toEqual(['OrderPlaced', 'PaymentCompleted']);
  });

  it('when an event comes again after its inbox row was pruned, then the history still has it once', async () => {
    const { orderId } = await aPlacedOrder();
    const paid = anEvent('PaymentCompleted', { orderId });
    await order.broker.publish('payment.events', paid);
    await eventually(async () => (await getOrder(orderId)).status === 'PAID', { what: 'the order paid' });
    const inboxRow = async () => (await order.running.pool.query('SELECT 1 FROM troupe_inbox WHERE event_id = $1', [paid.id])).rowCount;
    await order.running.pool.query('DELETE FROM troupe_inbox WHERE event_id = $1', [paid.id]);

    await order.broker.publish('payment.events', paid);

    await eventually(async () => (await inboxRow()) === 1, { what: 'the late copy processed' });
    expect((await getOrder(orderId)).history.map((h) => h.type)).toEqual(['OrderPlaced', 'PaymentCompleted']);
  });

  it('when an event is about an order this service never placed, then it is dead-lettered at once as permanent', async () => {
    const stray = anEvent('PaymentCompleted');

    await order.broker.publish('payment.events', stray);

    const dead = await order.awaitDeadLetter(stray.id);
    expect(dead.properties.headers).toMatchObject({
      [HEADER.deadLetterReason]: 'permanent',
      [HEADER.attempt]: 1,
      [HEADER.originalQueue]: 'order.payment.events',
    });
    expect(String(dead.properties.headers?.[HEADER.error])).toContain(stray.orderId);
  });
});
