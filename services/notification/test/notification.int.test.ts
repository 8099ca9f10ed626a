import { randomUUID } from 'node:crypto';
import { anEvent, eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { notificationService } from '../src/main';
import { expectEnvelope, expectReady, startHarness, type Harness } from '@troupe/service-harness';

const ADMIN_TOKEN = 'notification-admin-token-0123';
const OPERATOR_READ_TOKEN = 'notification-read-token-0123';

// No SMTP_URL: notifications are recorded and logged (channel "log"); email has its own file.
let notification: Harness<Config>;

beforeAll(async () => {
  notification = await startHarness({ label: 'notification', loadConfig, service: notificationService, publishesOn: 'notification.events', env: { ADMIN_TOKEN, OPERATOR_READ_TOKEN } });
});

afterAll(async () => {
  await notification?.stop();
});

const customer = { customerId: 'cust-9', email: 'linus@example.com' };

const notificationsOf = async (orderId: string) =>
  (
    await notification.running.pool.query<{ id: string; kind: string; channel: string; recipient: string; subject: string; body: string }>(
      'SELECT id, kind, channel, recipient, subject, body FROM notifications WHERE order_id = $1 ORDER BY sent_at',
      [orderId],
    )
  ).rows;

describe('on InventoryReserved', () => {
  it('when stock was reserved, then an ORDER_CONFIRMED notification is recorded for the customer and NotificationSent is published', async () => {
    const reserved = anEvent('InventoryReserved', { data: { customer, items: [{ sku: 'SKU-MUG', quantity: 3 }] } });

    await notification.broker.publish('inventory.events', reserved);

    const [sent] = await notification.awaitPublished(reserved.orderId, 'NotificationSent');
    expectEnvelope(sent!, 'NotificationSent', reserved.orderId);
    const rows = await notificationsOf(reserved.orderId);
    expect(rows).toEqual([
      {
        id: sent!.body.data.notificationId,
        kind: 'ORDER_CONFIRMED',
        channel: 'log',
        recipient: 'linus@example.com',
        subject: `Your order ${reserved.orderId.slice(0, 8)} is confirmed`,
        body: expect.stringContaining('3 × SKU-MUG'),
      },
    ]);
    expect(sent!.body.data).toEqual({ notificationId: rows[0]!.id, kind: 'ORDER_CONFIRMED', channel: 'log' });
  });
});

describe('on PaymentFailed', () => {
  it('when the payment was declined, then a PAYMENT_DECLINED notification says what was not charged and why', async () => {
    const failed = anEvent('PaymentFailed', { data: { customer, amount: { amountCents: 4599, currency: 'USD' }, reason: 'card declined' } });

    await notification.broker.publish('payment.events', failed);

    const [sent] = await notification.awaitPublished(failed.orderId, 'NotificationSent');
    expectEnvelope(sent!, 'NotificationSent', failed.orderId);
    expect(sent!.body.data.kind).toBe('PAYMENT_DECLINED');
    expect(await notificationsOf(failed.orderId)).toEqual([
      expect.objectContaining({
        id: sent!.body.data.notificationId,
        kind: 'PAYMENT_DECLINED',
        recipient: 'linus@example.com',
        subject: `Your order ${failed.orderId.slice(0, 8)} could not be paid`,
        body: expect.stringMatching(/45\.99 USD.*card declined/),
      }),
    ]);
  });
});

describe('on PaymentRefunded', () => {
  it('when the payment was refunded, then an ORDER_CANCELLED_REFUNDED notification says the amount refunded', async () => {
    const refunded = anEvent('PaymentRefunded', { data: { customer, amount: { amountCents: 2000, currency: 'USD' }, reason: 'not enough stock' } });

    await notification.broker.publish('payment.events', refunded);

    const [sent] = await notification.awaitPublished(refunded.orderId, 'NotificationSent');
    expectEnvelope(sent!, 'NotificationSent', refunded.orderId);
    expect(sent!.body.data.kind).toBe('ORDER_CANCELLED_REFUNDED');
    expect(await notificationsOf(refunded.orderId)).toEqual([
      expect.objectContaining({
        kind: 'ORDER_CANCELLED_REFUNDED',
        subject: `Your order ${refunded.orderId.slice(0, 8)} was cancelled and refunded`,
        body: expect.stringMatching(/not enough stock.*20\.00 USD/),
      }),
    ]);
  });
});

describe('duplicates', () => {
  it('when the same event is delivered twice, then the customer is told once', async () => {
    const duplicates = () => notification.metric('troupe_inbox_duplicates_total', { queue: 'notification.inventory.events' });
    const duplicatesBefore = await duplicates();
    const reserved = anEvent('InventoryReserved', { data: { customer } });

    await notification.broker.publish('inventory.events', reserved);
    await notification.broker.publish('inventory.events', reserved);

    await eventually(async () => (await duplicates()) === duplicatesBefore + 1, { what: 'the second delivery seen as a duplicate' });
    await notification.awaitPublished(reserved.orderId, 'NotificationSent', 1);
    expect(await notificationsOf(reserved.orderId)).toHaveLength(1);
  });

  it('when the outcome is announced again under a new event id, then the customer is still told once', async () => {
    const reserved = anEvent('InventoryReserved', { data: { customer } });
    const again = { ...reserved, id: randomUUID() };

    await notification.broker.publish('inventory.events', reserved);
    await notification.broker.publish('inventory.events', again);

    await eventually(
      async () => (await notification.running.pool.query('SELECT 1 FROM troupe_inbox WHERE event_id = ANY($1::uuid[])', [[reserved.id, again.id]])).rowCount === 2,
      { what: 'both events handled' },
    );
    await notification.awaitPublished(reserved.orderId, 'NotificationSent', 1);
    expect(await notificationsOf(reserved.orderId)).toHaveLength(1);
  });
});

describe('GET /notifications', () => {
  it('when an order was notified, then the notifications for that order are listed, without the address or the body', async () => {
    const orderId = randomUUID();
    const failed = anEvent('PaymentFailed', { orderId, data: { customer } });
    const other = anEvent('PaymentFailed', { data: { customer } });
    await notification.broker.publish('payment.events', failed);
    await notification.broker.publish('payment.events', other);
    const [sent] = await notification.awaitPublished(orderId, 'NotificationSent');

    const response = await fetch(`${notification.baseUrl}/notifications?orderId=${orderId}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      orderId,
      notifications: [
        {
          id: sent!.body.data.notificationId,
          orderId,
          kind: 'PAYMENT_DECLINED',
          channel: 'log',
          subject: expect.stringContaining(orderId.slice(0, 8)),
          sentAt: expect.any(String),
        },
      ],
    });

    for (const token of [OPERATOR_READ_TOKEN, ADMIN_TOKEN]) {
      const operator = await fetch(`${notification.baseUrl}/notifications?orderId=${orderId}`, { headers: { authorization: `Bearer ${token}` } });
      expect(((await operator.json()) as { notifications: unknown[] }).notifications).toEqual([expect.objectContaining({ recipient: 'linus@example.com', body: expect.any(String) })]);
    }
    const wrong = await fetch(`${notification.baseUrl}/notifications?orderId=${orderId}`, { headers: { authorization: `Bearer ${'x'.repeat(ADMIN_TOKEN.length)}` } });
    expect(((await wrong.json()) as { notifications: unknown[] }).notifications[0]).not.toHaveProperty('recipient');
  });

  it('when nothing was sent for the order, then the list is empty', async () => {
    const orderId = randomUUID();

    const response = await fetch(`${notification.baseUrl}/notifications?orderId=${orderId}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ orderId, notifications: [] });
  });

  it.each([
    ['orderId=bad', 'a malformed orderId'],
    ['', 'no orderId'],
  ])('when the query is %j (%s), then 400 with a JSON error naming orderId', async (query) => {
    const response = await fetch(`${notification.baseUrl}/notifications?${query}`);

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = await response.json();
    expect(body).toEqual({ error: expect.stringContaining('orderId'), details: [{ field: 'orderId', message: expect.any(String) }] });
  });
});

describe('health', () => {
  it('when the service is connected, then /readyz is 200 and shows both subscriptions consuming', async () => {
    expect((await fetch(`${notification.baseUrl}/healthz`)).status).toBe(200);
    await expectReady(notification.baseUrl, ['notification.payment.events', 'notification.inventory.events'], ['smtp']);
  });
});
