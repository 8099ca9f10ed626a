import { anEvent, eventually } from '@troupe/testing';
import { startHarness, type Harness } from '@troupe/service-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { paymentService } from '../src/main';

// The payment gateway's fault switches: changed at run time over the admin API, and only there.
let payment: Harness<Config>;
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };

beforeAll(async () => {
  payment = await startHarness({ label: 'payment_faults', loadConfig, service: paymentService, publishesOn: 'payment.events', env: { ADMIN_TOKEN } });
});

afterAll(async () => {
  await payment?.stop();
});

// A failed test leaves no fault switched on for the next one.
afterEach(async () => {
  await setFaults({ paymentGatewayFailureRate: 0, paymentGatewayLatencyMs: 0 });
});

async function setFaults(change: Record<string, unknown>) {
  const response = await fetch(`${payment.baseUrl}/admin/faults`, { method: 'PUT', headers: auth, body: JSON.stringify(change) });
  return { status: response.status, body: (await response.json()) as { flags?: Record<string, { value: number }>; details?: { field: string }[] } };
}

describe('/admin/faults', () => {
  it('when no admin token is sent, then 401', async () => {
    expect((await fetch(`${payment.baseUrl}/admin/faults`)).status).toBe(401);
    expect((await fetch(`${payment.baseUrl}/admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(401);
  });

  it('when asked, then every switch is listed, off', async () => {
    const response = await fetch(`${payment.baseUrl}/admin/faults`, { headers: auth });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      flags: { paymentGatewayFailureRate: { value: 0, min: 0, max: 1, unit: 'ratio' }, paymentGatewayLatencyMs: { value: 0, unit: 'ms' } },
    });
  });

  it.each([
    [{ paymentGatewayFailureRate: 1.5 }, 'paymentGatewayFailureRate'],
    [{ paymentGatewayLatencyMs: -1 }, 'paymentGatewayLatencyMs'],
    [{ paymentGatewayFailureRate: '1' }, 'paymentGatewayFailureRate'],
    [{ inventorySlownessMs: 10 }, 'inventorySlownessMs'],
  ])('when the change is %j, then 400 names %s and nothing changes', async (change, field) => {
    const { status, body } = await setFaults(change);
    expect(status).toBe(400);
    expect(body.details?.map((d) => d.field)).toContain(field);
    const current = (await (await fetch(`${payment.baseUrl}/admin/faults`, { headers: auth })).json()) as { flags: Record<string, { value: number }> };
    expect(current.flags.paymentGatewayFailureRate?.value).toBe(0);
  });

  it('when the gateway fails every charge, then OrderPlaced is retried then dead-lettered; switched back and replayed, the order is paid once', async () => {
    expect((await setFaults({ paymentGatewayFailureRate: 1 })).status).toBe(200);
    const retriedBefore = await payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' });
    const placed = anEvent('OrderPlaced', { data: { paymentMethod: { token: 'tok_visa' } } });
    await payment.broker.publish('order.events', placed);

    await payment.awaitDeadLetter(placed.id);
    // RETRY_MAX_ATTEMPTS is 4 in the harness: three retries, then the dead-letter queue.
    expect((await payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' })) - retriedBefore).toBe(3);
    expect((await payment.running.pool.query('SELECT 1 FROM payments WHERE order_id = $1', [placed.orderId])).rowCount).toBe(0);

    expect((await setFaults({ paymentGatewayFailureRate: 0 })).status).toBe(200);
    const replay = await fetch(`${payment.baseUrl}/admin/dlq/replay`, { method: 'POST', headers: auth, body: JSON.stringify({ all: true }) });
    expect(replay.status).toBe(200);

    const [completed] = await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(completed?.body.orderId).toBe(placed.orderId);
    expect((await payment.running.pool.query('SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).rows).toEqual([{ status: 'CAPTURED' }]);
    expect(await payment.isDeadLettered(placed.id)).toBe(false);
  });

  it('when the gateway is given latency, then a charge takes at least that long', async () => {
    expect((await setFaults({ paymentGatewayLatencyMs: 400 })).status).toBe(200);
    const placed = anEvent('OrderPlaced', { data: { paymentMethod: { token: 'tok_visa' } } });
    const started = Date.now();
    await payment.broker.publish('order.events', placed);
    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect((await setFaults({ paymentGatewayLatencyMs: 0 })).status).toBe(200);
  });

  it('when a charge is slow, then an order arriving meanwhile is charged beside it, not after it', async () => {
    expect((await setFaults({ paymentGatewayLatencyMs: 5000 })).status).toBe(200);
    const batches = () => payment.metric('troupe_consumer_batch_messages_count');
    const before = await batches();
    const first = anEvent('OrderPlaced', { data: { paymentMethod: { token: 'tok_visa' } } });
    await payment.broker.publish('order.events', first);
    await eventually(async () => (await batches()) > before, { what: "the first order's batch started" });

    const second = anEvent('OrderPlaced', { data: { paymentMethod: { token: 'tok_visa' } } });
    const sent = Date.now();
    await payment.broker.publish('order.events', second);
    await payment.awaitPublished(second.orderId, 'PaymentCompleted');
    // Beside the first charge it takes 5 s; behind it, it would wait out the rest of the first's 5 s too.
    expect(Date.now() - sent).toBeLessThan(7500);
    await payment.awaitPublished(first.orderId, 'PaymentCompleted');
  });
});
