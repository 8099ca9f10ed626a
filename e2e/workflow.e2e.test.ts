import { eventually } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { deadLetters, getNotifications, getOrder, getStock, historyTypes, ledgerLines, placeOrder, settled, sql } from './support/api';
import { useSystem } from './support/hooks';

// The choreography as a customer sees it: the four services and the card gateway as real
// processes, driven over HTTP only; each service's database and the gateway's ledger are read
// for the invariants behind the answers.
const ADMIN_TOKEN = 'workflow-admin-token';
// A short backoff, so that a charge that keeps failing reaches the dead letters in about a second.
const env = useSystem('workflow', () => ({ ADMIN_TOKEN, RETRY_BASE_DELAY_MS: '100' }));

const noDeadLetters = { order: 0, payment: 0, inventory: 0, notification: 0 };

describe('an order, all four services running', () => {
  it('when a customer pays with a good card for an item in stock, then the order is COMPLETED, the stock reserved and the customer told once', async () => {
    const { system, broker } = env;
    const before = await getStock(system, 'SKU-TSHIRT');

    const placed = await placeOrder(system, { paymentMethod: { token: 'tok_visa' }, items: [{ sku: 'SKU-TSHIRT', quantity: 2 }] });
    expect(placed.status).toBe('PENDING');

    const order = await settled(system, placed.orderId, { events: 4 });
    expect(order.status).toBe('COMPLETED');
    expect(historyTypes(order)).toEqual(['OrderPlaced', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']);
    expect(order.total).toEqual({ amountCents: 4000, currency: 'USD' });
    const notifications = await getNotifications(system, placed.orderId);
    expect(notifications).toMatchObject([{ kind: 'ORDER_CONFIRMED', channel: 'log' }]);
    expect(notifications[0]).not.toHaveProperty('recipient');
    expect(await getStock(system, 'SKU-TSHIRT')).toEqual({
      sku: 'SKU-TSHIRT',
      available: before.available - 2,
      reserved: before.reserved + 2,
    });
    expect(await sql(system, 'payment', 'SELECT status, amount_cents FROM payments WHERE order_id = $1', [placed.orderId])).toEqual([
      { status: 'CAPTURED', amount_cents: 4000 },
    ]);
    expect(await sql(system, 'inventory', 'SELECT items FROM reservations WHERE order_id = $1', [placed.orderId])).toEqual([
      { items: [{ sku: 'SKU-TSHIRT', quantity: 2 }] },
    ]);
    expect(await ledgerLines(system, placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when the card is declined, then the order is CANCELLED, the customer told, and nothing reserved', async () => {
    const { system, broker } = env;
    const placed = await placeOrder(system, { paymentMethod: { token: 'tok_declined' } });

    const order = await settled(system, placed.orderId, { events: 3 });
    expect(order.status).toBe('CANCELLED');
    expect(historyTypes(order)).toEqual(['OrderPlaced', 'PaymentFailed', 'NotificationSent']);
    expect((await getNotifications(system, placed.orderId)).map((n) => n.kind)).toEqual(['PAYMENT_DECLINED']);
    expect(await sql(system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).toEqual([{ status: 'DECLINED' }]);
    expect(await ledgerLines(system, placed.orderId)).toEqual([['charge', placed.orderId, 'declined']]);
    expect(await sql(system, 'inventory', 'SELECT id FROM reservations WHERE order_id = $1', [placed.orderId])).toEqual([]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when the item is sold out after the payment, then the payment is refunded and the order CANCELLED', async () => {
    const { system, broker } = env;
    const placed = await placeOrder(system, { items: [{ sku: 'SKU-SOLDOUT', quantity: 1 }] });

    const order = await settled(system, placed.orderId, { events: 5 });
    expect(order.status).toBe('CANCELLED');
    expect(historyTypes(order)).toEqual(['OrderPlaced', 'PaymentCompleted', 'InventoryRejected', 'PaymentRefunded', 'NotificationSent']);
    expect(await sql(system, 'payment', 'SELECT status, refund_reason FROM payments WHERE order_id = $1', [placed.orderId])).toEqual([
      { status: 'REFUNDED', refund_reason: 'not enough stock' },
    ]);
    expect(await ledgerLines(system, placed.orderId)).toEqual([
      ['charge', placed.orderId, 'approved'],
      ['refund', `refund:${placed.orderId}`, 'refunded'],
    ]);
    expect((await getNotifications(system, placed.orderId)).map((n) => n.kind)).toEqual(['ORDER_CANCELLED_REFUNDED']);
    expect(await getStock(system, 'SKU-SOLDOUT')).toEqual({ sku: 'SKU-SOLDOUT', available: 0, reserved: 0 });
    expect(await sql(system, 'inventory', 'SELECT id FROM reservations WHERE order_id = $1', [placed.orderId])).toEqual([]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when the gateway fails twice before approving, then the order is COMPLETED with one payment and one charge in the gateway', async () => {
    const { system, broker } = env;
    const placed = await placeOrder(system, { paymentMethod: { token: 'tok_flaky' } });

    const order = await settled(system, placed.orderId, { events: 4 });
    expect(order.status).toBe('COMPLETED');
    expect(historyTypes(order)).toEqual(['OrderPlaced', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']);
    expect(await sql(system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).toEqual([{ status: 'CAPTURED' }]);
    expect((await sql(system, 'payment', 'SELECT count(*)::int AS retries FROM troupe_failed_attempts WHERE order_id = $1', [placed.orderId]))[0]).toEqual({ retries: 2 });
    expect(await ledgerLines(system, placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when 40 customers race for the last 10 units, then exactly 10 orders complete, 30 are refunded and cancelled, and none is stuck', async () => {
    const { system, broker } = env;
    await sql(system, 'order', `INSERT INTO products (sku, name, unit_price_cents) VALUES ('SKU-LIMITED', 'limited edition', 1000)`);
    await sql(system, 'inventory', `INSERT INTO stock (sku, available) VALUES ('SKU-LIMITED', 10)`);

    const placed = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        placeOrder(system, { customerId: `burst-${i}`, items: [{ sku: 'SKU-LIMITED', quantity: 1 }], paymentMethod: { token: 'tok_visa' } }),
      ),
    );
    const ids = placed.map((o) => o.orderId);
    expect(new Set(ids).size).toBe(40);

    // Forty pollers would compete with the work itself on two cores: watch the order database
    // until every order is terminal with its whole story recorded (4 events for a completed
    // order, 5 for a refunded one; see `settled`), then read each one over HTTP.
    await eventually(
      async () => {
        const rows = await sql<{ status: string; events: number; n: number }>(
          system,
          'order',
          `SELECT o.status, (SELECT count(*) FROM order_history h WHERE h.order_id = o.id)::int AS events, count(*)::int AS n
             FROM orders o WHERE o.id = ANY($1::uuid[]) GROUP BY 1, 2 ORDER BY 1, 2`,
          [ids],
        );
        const done = rows
          .filter((r) => (r.status === 'COMPLETED' && r.events >= 4) || (r.status === 'CANCELLED' && r.events >= 5))
          .reduce((sum, r) => sum + r.n, 0);
        if (done < 40) throw new Error(`not settled yet (status, events, orders): ${JSON.stringify(rows)}`);
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'all 40 orders to settle' },
    );

    const orders = await Promise.all(ids.map((id) => getOrder(system, id)));
    const completed = orders.filter((o) => o.status === 'COMPLETED').map((o) => o.orderId);
    const cancelled = orders.filter((o) => o.status === 'CANCELLED').map((o) => o.orderId);
    expect({ completed: completed.length, cancelled: cancelled.length }).toEqual({ completed: 10, cancelled: 30 });
    for (const order of orders) {
      expect(historyTypes(order)).toEqual(
        order.status === 'COMPLETED'
          ? ['OrderPlaced', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']
          : ['OrderPlaced', 'PaymentCompleted', 'InventoryRejected', 'PaymentRefunded', 'NotificationSent'],
      );
    }

    expect(await getStock(system, 'SKU-LIMITED')).toEqual({ sku: 'SKU-LIMITED', available: 0, reserved: 10 });
    const reservations = await sql<{ order_id: string }>(system, 'inventory', 'SELECT order_id FROM reservations WHERE order_id = ANY($1::uuid[])', [ids]);
    expect(reservations.map((r) => r.order_id).sort()).toEqual([...completed].sort());

    const payments = await sql<{ order_id: string; status: string }>(system, 'payment', 'SELECT order_id, status FROM payments WHERE order_id = ANY($1::uuid[])', [ids]);
    expect(payments).toHaveLength(40);
    expect(payments.filter((p) => p.status === 'CAPTURED').map((p) => p.order_id).sort()).toEqual([...completed].sort());
    expect(payments.filter((p) => p.status === 'REFUNDED').map((p) => p.order_id).sort()).toEqual([...cancelled].sort());

    const notifications = await sql<{ order_id: string; kind: string }>(
      system,
      'notification',
      'SELECT order_id, kind FROM notifications WHERE order_id = ANY($1::uuid[])',
      [ids],
    );
    expect(notifications).toHaveLength(40);
    expect(new Set(notifications.map((n) => n.order_id)).size).toBe(40);
    const kindOf = new Map(notifications.map((n) => [n.order_id, n.kind]));
    expect(completed.every((id) => kindOf.get(id) === 'ORDER_CONFIRMED')).toBe(true);
    expect(cancelled.every((id) => kindOf.get(id) === 'ORDER_CANCELLED_REFUNDED')).toBe(true);
    // The card gateway's own count: one charge each, and a refund for each cancelled order alone.
    const charged = (id: string) => ['charge', id, 'approved'];
    for (const id of completed) expect(await ledgerLines(system, id)).toEqual([charged(id)]);
    for (const id of cancelled) expect(await ledgerLines(system, id)).toEqual([charged(id), ['refund', `refund:${id}`, 'refunded']]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when a dead letter is looked at 100 times, as the page does, then it stays as it was; replayed, the order completes', async () => {
    const { system, broker } = env;
    const admin = (path: string, init: RequestInit = {}) =>
      fetch(`${system.baseUrl('payment')}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });
    const faults = (failureRate: number) =>
      fetch(`${system.baseUrl('gateway')}/admin/faults`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ gatewayFailureRate: failureRate }),
      });
    expect((await faults(1)).status).toBe(200);
    const placed = await placeOrder(system, { paymentMethod: { token: 'tok_visa' } });
    const listed = async () => (await admin('/admin/dlq')).json() as Promise<{ count: number; messages: { id: string; body: string; headers: unknown; queue: string }[] }>;
    const first = await eventually(async () => {
      const found = await listed();
      return found.messages.find((m) => JSON.parse(m.body).orderId === placed.orderId) && found;
    }, { timeoutMs: 30_000, what: "the order's OrderPlaced among payment's dead letters" });
    expect((await faults(0)).status).toBe(200);
    for (let i = 0; i < 100; i++) expect(await listed()).toEqual(first);

    const [letter] = first.messages;
    const replay = await admin('/admin/dlq/replay', { method: 'POST', body: JSON.stringify({ ids: [letter!.id] }) });
    expect(await replay.json()).toEqual({ replayed: [{ id: letter!.id, queue: 'payment.order.events' }] });
    const order = await settled(system, placed.orderId, { events: 4 });
    expect(order.status).toBe('COMPLETED');
    expect(await sql(system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).toEqual([{ status: 'CAPTURED' }]);
    expect(await ledgerLines(system, placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });
});
