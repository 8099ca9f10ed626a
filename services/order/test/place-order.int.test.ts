import { randomUUID } from 'node:crypto';
import type { OrderRequest } from '@troupe/contracts';
import { pruneRound } from '@troupe/service';
import { anOrderRequest } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { expiredKeys } from '../src/db/idempotency-keys';
import { orderService } from '../src/main';
import { expectEnvelope, expectReady, startHarness, type Harness } from '@troupe/service-harness';

// The HTTP side of the order service: POST /orders and GET /orders/:id.
const MAX_BODY_BYTES = 4096;
let order: Harness<Config>;

beforeAll(async () => {
  order = await startHarness({
    label: 'order_http',
    loadConfig,
    service: orderService,
    publishesOn: 'order.events',
    env: { MAX_BODY_BYTES: String(MAX_BODY_BYTES) },
  });
});

afterAll(async () => {
  await order?.stop();
});

/** The order as the API shows it. */
interface OrderBody {
  orderId: string;
  status: string;
  history: { type: string; at: string }[];
  traceId: string | null;
  createdAt: string;
  updatedAt: string;
}
const orderBody = async (response: Response) => (await response.json()) as OrderBody;

/** A unique customer per test, so rows and events are told apart without cleaning up. */
const aCustomer = () => `cust-${randomUUID()}`;

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${order.baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

const ordersOf = async (customerId: string) =>
  (
    await order.running.pool.query<{ id: string; status: string; email: string; total_cents: number; currency: string; items: unknown }>(
      'SELECT id, status, email, total_cents, currency, items FROM orders WHERE customer_id = $1',
      [customerId],
    )
  ).rows;

const orderCount = async () => Number((await order.running.pool.query('SELECT count(*) FROM orders')).rows[0].count);

/** An error body says what is wrong in our words: no stack, no source paths, no internals. */
function expectNoInternals(text: string) {
  expect(text).not.toMatch(/\n\s+at |\.ts:\d+|\.js:\d+|node_modules|SyntaxError|stack/i);
}

describe('POST /orders', () => {
  it('when the order is valid, then 202 with Location, a PENDING priced order, a stored row and OrderPlaced published', async () => {
    const request = anOrderRequest({
      customerId: aCustomer(),
      items: [
        { sku: 'SKU-TSHIRT', quantity: 2 },
        { sku: 'SKU-MUG', quantity: 1 },
      ],
      paymentMethod: { token: 'tok_visa' },
    });
    const placedBefore = await order.metric('troupe_orders_placed_total');

    const response = await post(request);

    expect(response.status).toBe(202);
    const body = await orderBody(response);
    expect(response.headers.get('location')).toBe(`/orders/${body.orderId}`);
    const items = [
      { sku: 'SKU-TSHIRT', quantity: 2, unitPriceCents: 2000 },
      { sku: 'SKU-MUG', quantity: 1, unitPriceCents: 1200 },
    ];
    expect(body).toMatchObject({
      orderId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'PENDING',
      customerId: request.customerId,
      items,
      total: { amountCents: 5200, currency: 'USD' },
      history: [{ type: 'OrderPlaced', at: expect.any(String) }],
    });
    expect(body).toHaveProperty('traceId');
    expect(await ordersOf(request.customerId)).toEqual([
      { id: body.orderId, status: 'PENDING', email: request.email, total_cents: 5200, currency: 'USD', items },
    ]);
    const [placed] = await order.awaitPublished(body.orderId, 'OrderPlaced');
    expectEnvelope(placed!, 'OrderPlaced', body.orderId);
    expect(placed!.body.data).toEqual({
      customer: { customerId: request.customerId, email: request.email },
      items,
      total: { amountCents: 5200, currency: 'USD' },
      paymentMethod: { token: 'tok_visa' },
    });
    expect(await order.metric('troupe_orders_placed_total')).toBe(placedBefore + 1);
  });

  it('when the order was placed, then GET /orders/:id returns it', async () => {
    const request = anOrderRequest({ customerId: aCustomer() });
    const placed = await orderBody(await post(request));

    const response = await fetch(`${order.baseUrl}/orders/${placed.orderId}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      orderId: placed.orderId,
      status: 'PENDING',
      customerId: request.customerId,
      items: [{ sku: 'SKU-TSHIRT', quantity: 2, unitPriceCents: 2000 }],
      total: { amountCents: 4000, currency: 'USD' },
      history: [{ type: 'OrderPlaced', at: placed.history[0]!.at }],
      traceId: placed.traceId,
      createdAt: placed.createdAt,
      updatedAt: placed.updatedAt,
    });
  });

  const invalid: [string, (r: OrderRequest) => unknown, string][] = [
    ['the email is missing', ({ email: _email, ...rest }) => rest, 'email'],
    ['the email is not an address', (r) => ({ ...r, email: 'ada-at-example' }), 'email'],
    ['a quantity is 0', (r) => ({ ...r, items: [{ sku: 'SKU-TSHIRT', quantity: 0 }] }), 'items.0.quantity'],
    ['a quantity is not an integer', (r) => ({ ...r, items: [{ sku: 'SKU-TSHIRT', quantity: 1.5 }] }), 'items.0.quantity'],
    ['the items are empty', (r) => ({ ...r, items: [] }), 'items'],
    ['a SKU is malformed', (r) => ({ ...r, items: [{ sku: 'tshirt', quantity: 1 }] }), 'items.0.sku'],
    ['the payment method has no token', (r) => ({ ...r, paymentMethod: {} }), 'paymentMethod.token'],
    ['the customer id is blank', (r) => ({ ...r, customerId: '   ' }), 'customerId'],
    ['the customer id holds a NUL character', (r) => ({ ...r, customerId: 'cust\u0000-1' }), 'customerId'],
    ['the customer id holds another control character', (r) => ({ ...r, customerId: 'cust\u001b[31m' }), 'customerId'],
    ['the payment token holds a NUL character', (r) => ({ ...r, paymentMethod: { token: 'tok_visa\u0000' } }), 'paymentMethod.token'],
    ['the customer id holds a lone surrogate', (r) => ({ ...r, customerId: 'cust-\ud800' }), 'customerId'],
  ];
  it.each(invalid)('when %s, then 400 naming the field %s and nothing is placed', async (_case, mutate, field) => {
    const customerId = aCustomer();
    const before = await orderCount();

    const response = await post(mutate(anOrderRequest({ customerId })));

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const text = await response.text();
    expectNoInternals(text);
    const body = JSON.parse(text);
    expect(body.error).toContain(field);
    expect(body.details).toContainEqual({ field, message: expect.any(String) });
    expect(await orderCount()).toBe(before);
  });

  it('when the body has a field the API does not know, then 400 naming that field', async () => {
    const response = await post({ ...anOrderRequest({ customerId: aCustomer() }), coupon: 'FREE' });

    expect(response.status).toBe(400);
    const text = await response.text();
    expectNoInternals(text);
    expect(JSON.parse(text)).toEqual({ error: 'invalid request: coupon: unknown field', details: [{ field: 'coupon', message: 'unknown field' }] });
  });

  it('when a SKU is not sold here, then 400 naming items.N.sku, and no order is stored or published', async () => {
    const customerId = aCustomer();

    const response = await post(
      anOrderRequest({
        customerId,
        items: [
          { sku: 'SKU-MUG', quantity: 1 },
          { sku: 'SKU-UNOBTAINIUM', quantity: 1 },
        ],
      }),
    );

    expect(response.status).toBe(400);
    const text = await response.text();
    expectNoInternals(text);
    const body = JSON.parse(text);
    expect(body.error).toContain('items.1.sku');
    expect(body.details).toEqual([{ field: 'items.1.sku', message: expect.stringContaining('SKU-UNOBTAINIUM') }]);
    expect(await ordersOf(customerId)).toEqual([]);
    expect((await order.settled()).filter((m) => m.body.type === 'OrderPlaced' && (m.body.data as { customer: { customerId: string } }).customer.customerId === customerId)).toEqual([]);
  });

  it('when many orders arrive at once with a bad one among them, then each valid one is placed and published once, and only the bad one is refused', async () => {
    // Orders arriving together share a transaction (docs/decisions/0020): a bad one must not take the others down with it.
    const customerId = aCustomer();
    const good = Array.from({ length: 20 }, (_, i) => anOrderRequest({ customerId, items: [{ sku: 'SKU-MUG', quantity: i + 1 }] }));
    const bad = anOrderRequest({ customerId, items: [{ sku: 'SKU-UNOBTAINIUM', quantity: 1 }] });
    const placedBefore = await order.metric('troupe_orders_placed_total');
    const transactionsBefore = await order.metric('troupe_order_transaction_requests_count');
    const runsBefore = await order.metric('troupe_order_transaction_requests_sum');

    const responses = await Promise.all([...good.slice(0, 10), bad, ...good.slice(10)].map((request) => post(request)));

    expect(responses.map((r) => r.status)).toEqual([...Array(10).fill(202), 400, ...Array(10).fill(202)]);
    const placed = await Promise.all(responses.filter((r) => r.status === 202).map(orderBody));
    expect(new Set(placed.map((b) => b.orderId)).size).toBe(20);
    const rows = await ordersOf(customerId);
    expect(rows.map((row) => row.id).sort()).toEqual(placed.map((b) => b.orderId).sort());
    for (const body of placed) await order.awaitPublished(body.orderId, 'OrderPlaced', 1);
    expect(await order.metric('troupe_orders_placed_total')).toBe(placedBefore + 20);
    // They did share: fewer transactions than requests run (a rerun without the bad one counts again).
    const transactions = (await order.metric('troupe_order_transaction_requests_count')) - transactionsBefore;
    const runs = (await order.metric('troupe_order_transaction_requests_sum')) - runsBefore;
    expect(runs).toBeGreaterThanOrEqual(21);
    expect(transactions).toBeLessThan(runs);
  });

  it('when the body is not valid JSON, then 400 with a JSON error and no parser internals', async () => {
    const response = await post('{"customerId": "c", "email": ');

    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const text = await response.text();
    expectNoInternals(text);
    expect(JSON.parse(text)).toEqual({ error: 'request body is not valid JSON' });
  });

  it('when the body is not JSON at all, then 415 with a JSON error', async () => {
    const response = await fetch(`${order.baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'two mugs please' });

    expect(response.status).toBe(415);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expectNoInternals(await response.text());
  });

  it('when the body is far over the limit, then 413 with a JSON error', async () => {
    const before = await orderCount();
    const huge = { ...anOrderRequest({ customerId: aCustomer() }), padding: 'x'.repeat(64 * 1024) };

    const response = await post(huge);

    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const text = await response.text();
    expectNoInternals(text);
    expect(JSON.parse(text)).toEqual({ error: 'request body is too large' });
    expect(await orderCount()).toBe(before);
  });

  it('when the body is over MAX_BODY_BYTES (but under 16 KiB), then 413', async () => {
    const body = JSON.stringify(anOrderRequest({ customerId: aCustomer() })).replace('{', `{${' '.repeat(2 * MAX_BODY_BYTES)}`);

    const response = await post(body);

    expect(response.status).toBe(413);
  });
});

describe('GET /orders/:id', () => {
  it('when no order has the id, then 404 with a JSON error', async () => {
    const id = randomUUID();

    const response = await fetch(`${order.baseUrl}/orders/${id}`);

    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: expect.stringContaining(id) });
  });

  it.each(['not-a-uuid', '12345', "1' OR '1'='1"])('when the id is malformed (%s), then 404 with a JSON error', async (id) => {
    const response = await fetch(`${order.baseUrl}/orders/${encodeURIComponent(id)}`);

    expect(response.status).toBe(404);
    const text = await response.text();
    expectNoInternals(text);
    expect(JSON.parse(text)).toEqual({ error: expect.any(String) });
  });
});

describe('Idempotency-Key', () => {
  it('when the same key comes with the same body, then the first response is replayed and nothing new is placed', async () => {
    const request = anOrderRequest({ customerId: aCustomer() });
    const key = randomUUID();
    const first = await post(request, { 'Idempotency-Key': key });
    const firstBody = await orderBody(first);
    const placedBefore = await order.metric('troupe_orders_placed_total');

    // Same JSON, keys in another order: the same request.
    const { paymentMethod, items, email, customerId } = request;
    const again = await post({ paymentMethod, items, email, customerId }, { 'Idempotency-Key': key });

    expect(first.status).toBe(202);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('location')).toBe(`/orders/${firstBody.orderId}`);
    expect(await again.json()).toEqual(firstBody);
    expect(await ordersOf(request.customerId)).toHaveLength(1);
    await order.awaitPublished(firstBody.orderId, 'OrderPlaced', 1);
    expect(await order.metric('troupe_orders_placed_total')).toBe(placedBefore);
  });

  it('when the same key comes with a different body, then 422 and nothing new is placed', async () => {
    const customerId = aCustomer();
    const key = randomUUID();
    await post(anOrderRequest({ customerId }), { 'Idempotency-Key': key });

    const response = await post(anOrderRequest({ customerId, items: [{ sku: 'SKU-MUG', quantity: 9 }] }), { 'Idempotency-Key': key });

    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: expect.stringContaining('Idempotency-Key') });
    expect(await ordersOf(customerId)).toHaveLength(1);
  });

  it('when 10 requests with one key arrive at once, then exactly one order is placed and all 10 get it', async () => {
    const request = anOrderRequest({ customerId: aCustomer() });
    const key = randomUUID();

    const responses = await Promise.all(Array.from({ length: 10 }, () => post(request, { 'Idempotency-Key': key })));

    const bodies = await Promise.all(responses.map(orderBody));
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    const orderIds = new Set(bodies.map((b) => b.orderId));
    expect(orderIds.size).toBe(1);
    const orderId = bodies[0]!.orderId;
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(9);
    expect(await ordersOf(request.customerId)).toEqual([expect.objectContaining({ id: orderId })]);
    await order.awaitPublished(orderId, 'OrderPlaced', 1);
  });

  it('when two different keys come with the same body, then they are two orders', async () => {
    const request = anOrderRequest({ customerId: aCustomer() });

    const a = await orderBody(await post(request, { 'Idempotency-Key': randomUUID() }));
    const b = await orderBody(await post(request, { 'Idempotency-Key': randomUUID() }));

    expect(a.orderId).not.toBe(b.orderId);
    expect(await ordersOf(request.customerId)).toHaveLength(2);
  });

  it('when the key is not printable ASCII, then 400 naming the header', async () => {
    const response = await post(anOrderRequest(), { 'Idempotency-Key': 'x'.repeat(256) });

    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: expect.stringContaining('Idempotency-Key') });
  });
});

describe('health and metrics', () => {
  it('when the service is up, then /healthz is 200', async () => {
    const response = await fetch(`${order.baseUrl}/healthz`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });

  it('when connected, then /readyz is 200 and shows the database, the broker and each subscription consuming', async () => {
    await expectReady(order.baseUrl, ['order.payment.events', 'order.inventory.events', 'order.notification.events']);
  });

  it('when orders were placed, then /metrics has troupe_orders_placed_total and troupe_http_requests_total by route and status', async () => {
    await post(anOrderRequest({ customerId: aCustomer() }));

    const response = await fetch(`${order.baseUrl}/metrics`);

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(/^troupe_orders_placed_total(\{[^}]*\})? [1-9]\d*$/m);
    expect(text).toMatch(/^troupe_http_requests_total\{[^}]*method="POST"[^}]*route="\/orders"[^}]*status="202"[^}]*\} [1-9]\d*$/m);
    expect(text).toMatch(/^troupe_http_requests_total\{[^}]*route="\/orders\/:id"[^}]*status="404"[^}]*\} [1-9]\d*$/m);
  });
});

describe('pruning idempotency keys', () => {
  it('when a key has expired, then pruning deletes it and keeps the keys still live, which replay as before', async () => {
    const [expired, live] = [randomUUID(), randomUUID()];
    const request = anOrderRequest({ customerId: aCustomer() });
    await post(request, { 'Idempotency-Key': expired });
    const first = await orderBody(await post(request, { 'Idempotency-Key': live }));
    await order.running.pool.query(`UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1`, [expired]);

    const result = await pruneRound(order.running.pool, [expiredKeys], 1000);

    expect(result).toEqual({ ran: true, deleted: { idempotency_keys: { rows: 1, batches: 1 } } });
    const keys = await order.running.pool.query<{ key: string }>('SELECT key FROM idempotency_keys WHERE key = ANY($1)', [[expired, live]]);
    expect(keys.rows).toEqual([{ key: live }]);
    const again = await post(request, { 'Idempotency-Key': live });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect((await orderBody(again)).orderId).toBe(first.orderId);
  });
});
