import { anEvent, eventually } from '@troupe/testing';
import type { Harness } from '@troupe/service-harness';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config';
import { startPaymentWithGateway, type TestGateway } from './gateway';

// The card gateway's fault switches (they live on the gateway, services/gateway), as the payment
// service meets them: 503s it retries, latency it waits out, a timeout it retries under the same key.
let payment: Harness<Config>;
let gateway: TestGateway;
const ADMIN_TOKEN = 'test-admin-token-0123456789';
const auth = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' };
const GATEWAY_TIMEOUT_MS = 1500;

beforeAll(async () => {
  ({ payment, gateway } = await startPaymentWithGateway('payment_faults', { ADMIN_TOKEN, GATEWAY_TIMEOUT_MS: String(GATEWAY_TIMEOUT_MS) }));
});

afterAll(async () => {
  await payment?.stop();
  await gateway?.remove();
});

// A failed test leaves no fault switched on for the next one.
afterEach(async () => {
  await gateway.setFaults({ gatewayFailureRate: 0, gatewayLatencyMs: 0 });
});

const aVisaOrder = () => anEvent('OrderPlaced', { data: { paymentMethod: { token: 'tok_visa' } } });

describe("the gateway's fault switches", () => {
  it('when the payment service is asked for fault switches, then it has none (they are on the gateway)', async () => {
    expect((await fetch(`${payment.baseUrl}/admin/faults`, { headers: auth })).status).toBe(404);
  });

  it('when the gateway fails every charge, then OrderPlaced is retried then dead-lettered; switched back and replayed, the order is paid once', async () => {
    expect(await gateway.setFaults({ gatewayFailureRate: 1 })).toBe(200);
    const retriedBefore = await payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' });
    const placed = aVisaOrder();
    await payment.broker.publish('order.events', placed);

    await payment.awaitDeadLetter(placed.id);
    // RETRY_MAX_ATTEMPTS is 4 in the harness: three retries, then the dead-letter queue.
    expect((await payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' })) - retriedBefore).toBe(3);
    expect((await payment.running.pool.query('SELECT 1 FROM payments WHERE order_id = $1', [placed.orderId])).rowCount).toBe(0);
    expect(await gateway.ledger(placed.orderId)).toEqual([]);

    expect(await gateway.setFaults({ gatewayFailureRate: 0 })).toBe(200);
    const replay = await fetch(`${payment.baseUrl}/admin/dlq/replay`, { method: 'POST', headers: auth, body: JSON.stringify({ all: true }) });
    expect(replay.status).toBe(200);

    const [completed] = await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(completed?.body.orderId).toBe(placed.orderId);
    expect((await payment.running.pool.query('SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).rows).toEqual([{ status: 'CAPTURED' }]);
    expect(await payment.isDeadLettered(placed.id)).toBe(false);
    expect((await gateway.ledger(placed.orderId)).map((e) => e.outcome)).toEqual(['approved']);
  });

  it('when the gateway is given latency, then a charge takes at least that long', async () => {
    expect(await gateway.setFaults({ gatewayLatencyMs: 400 })).toBe(200);
    const placed = aVisaOrder();
    const started = Date.now();
    await payment.broker.publish('order.events', placed);
    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it('when the gateway answers later than GATEWAY_TIMEOUT_MS, then the call is retried under the same key and the card is charged once', async () => {
    const retried = () => payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' });
    const retriedBefore = await retried();
    expect(await gateway.setFaults({ gatewayLatencyMs: GATEWAY_TIMEOUT_MS + 500 })).toBe(200);
    const placed = aVisaOrder();
    await payment.broker.publish('order.events', placed);

    // The gateway charged after payment stopped waiting: the charge is in its ledger, not in payment's.
    await eventually(async () => (await gateway.ledger(placed.orderId)).length === 1, { what: 'the late charge in the ledger', timeoutMs: 10_000 });
    await eventually(async () => (await retried()) > retriedBefore, { what: 'the timed-out call retried' });
    expect(await gateway.setFaults({ gatewayLatencyMs: 0 })).toBe(200);

    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect((await payment.running.pool.query('SELECT status FROM payments WHERE order_id = $1', [placed.orderId])).rows).toEqual([{ status: 'CAPTURED' }]);
    expect(await gateway.ledger(placed.orderId)).toHaveLength(1);
  });

  it('when a charge is slow, then an order arriving meanwhile is charged beside it, not after it', async () => {
    expect(await gateway.setFaults({ gatewayLatencyMs: 1200 })).toBe(200);
    const batches = () => payment.metric('troupe_consumer_batch_messages_count');
    const before = await batches();
    const first = aVisaOrder();
    await payment.broker.publish('order.events', first);
    await eventually(async () => (await batches()) > before, { what: "the first order's batch started" });

    const second = aVisaOrder();
    const sent = Date.now();
    await payment.broker.publish('order.events', second);
    await payment.awaitPublished(second.orderId, 'PaymentCompleted');
    // Beside the first charge it takes 1.2 s; behind it, it would wait out the rest of the first's too.
    expect(Date.now() - sent).toBeLessThan(2300);
    await payment.awaitPublished(first.orderId, 'PaymentCompleted');
  });
});
