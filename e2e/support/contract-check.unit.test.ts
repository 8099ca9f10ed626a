import { randomUUID } from 'node:crypto';
import { anEvent } from '@troupe/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { ContractChecker, type AmqpMessage, type HttpAnswer } from './contract-check';

// The referee of the e2e suites must itself be able to say no: each test hands it one answer or
// message that breaks the published documents in one way, and expects that way named.

const answer = (overrides: Partial<Omit<HttpAnswer, 'body'>> & { body?: unknown } = {}): HttpAnswer => {
  const { body, headers, ...rest } = overrides;
  return {
    method: 'GET',
    url: '/readyz',
    status: 200,
    headers: headers ?? new Headers({ 'content-type': 'application/json; charset=utf-8' }),
    body: typeof body === 'string' ? body : JSON.stringify(body ?? readiness()),
    ...rest,
  };
};

const readiness = (checks: Record<string, unknown> = {}) => ({
  status: 'ready',
  checks: {
    database: true,
    broker: true,
    brokerNode: '127.0.0.1:5672',
    dependencies: { database: { up: true } },
    subscriptions: [{ queue: 'payment.order.events', consuming: true }],
    ...checks,
  },
});

const order = () => ({
  orderId: randomUUID(),
  status: 'PENDING',
  customerId: 'c-1',
  items: [{ sku: 'SKU-TSHIRT', quantity: 2, unitPriceCents: 2000 }],
  total: { amountCents: 4000, currency: 'USD' },
  history: [{ type: 'OrderPlaced', at: new Date().toISOString() }],
  traceId: null,
  createdAt: new Date().toISOString(),
  updatedAt: new Date().toISOString(),
});

const message = (overrides: Partial<AmqpMessage> & { payload?: unknown } = {}): AmqpMessage => {
  const { payload, properties, ...rest } = overrides;
  const event = anEvent('OrderPlaced');
  return {
    exchange: 'order.events',
    content: Buffer.from(JSON.stringify(payload ?? event)),
    properties: { contentType: 'application/json', type: 'OrderPlaced', deliveryMode: 2, headers: { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` }, ...properties },
    ...rest,
  };
};

describe('the contract check of HTTP answers', () => {
  let checker: ContractChecker;
  beforeAll(async () => {
    checker = await ContractChecker.load();
  });

  it('when a service answers /readyz as the platform builds it (broker node, dependencies, a paused subscription), then it keeps the document', async () => {
    const paused = readiness({ subscriptions: [{ queue: 'notification.payment.events', consuming: false, pausedBy: ['smtp'] }], dependencies: { smtp: { up: false, downForMs: 1200 } } });
    expect(await checker.checkResponse('notification', answer({ status: 503, body: { ...paused, status: 'not ready' } }))).toBeUndefined();
    expect(await checker.checkResponse('web', answer({ body: { status: 'ready', checks: {} } }))).toBeUndefined();
    expect(checker.responsesSeen).toContain('GET /readyz 503');
  });

  it('when the body has a field the schema does not, then the violation names the path, the status and the field', async () => {
    const violation = await checker.checkResponse('order', answer({ body: readiness({ colour: 'green' }) }));
    expect(violation).toMatch(/^GET \/readyz → 200 \(order\), declared as GET \/readyz 200: body #\/checks\/colour = "green" fails openapi\.json#\/components\/schemas\/Readiness\//);
  });

  it('when a required field is missing or has the wrong type, then the violation says where', async () => {
    const { customerId: _gone, ...partial } = order();
    expect(await checker.checkResponse('order', answer({ url: `/orders/${randomUUID()}`, body: partial }))).toMatch(/body # lacks customerId \(required by openapi\.json#\/components\/schemas\/Order\/required\)$/);
    expect(await checker.checkResponse('order', answer({ url: `/orders/${randomUUID()}`, body: { ...order(), status: 'LOST' } }))).toMatch(/body #\/status = "LOST" fails .*\/Order\/properties\/status\/enum$/);
    expect(await checker.checkResponse('order', answer({ url: `/orders/${randomUUID()}`, body: { ...order(), orderId: 'not-a-uuid' } }))).toMatch(/body #\/orderId = "not-a-uuid" fails/);
  });

  it('when the status is not declared for the operation, then the violation lists the declared ones', async () => {
    expect(await checker.checkResponse('inventory', answer({ url: '/stock/SKU-MUG', status: 500, body: { error: 'internal error' } }))).toBe(
      'GET /stock/SKU-MUG → 500 (inventory): status 500 is not declared for GET /stock/{sku} (declared: 200, 400, 404, 408, 431, 503)',
    );
  });

  it('when a declared header has a wrong value, or a header declared elsewhere turns up undeclared, then the violation names it', async () => {
    const placed = (headers: Record<string, string>) =>
      answer({ method: 'POST', url: '/orders', status: 202, headers: new Headers({ 'content-type': 'application/json', ...headers }), body: order() });
    expect(await checker.checkResponse('order', placed({ location: '/orders/x', 'idempotent-replayed': 'true' }))).toBeUndefined();
    expect(await checker.checkResponse('order', placed({ 'idempotent-replayed': 'yes' }))).toMatch(/POST \/orders → 202 \(order\), declared as POST \/orders 202: header Idempotent-Replayed: # = "yes" fails .*enum$/);
    expect(await checker.checkResponse('order', answer({ url: '/healthz', headers: new Headers({ 'content-type': 'application/json', 'retry-after': '5' }), body: { status: 'ok' } }))).toMatch(
      /GET \/healthz 200: header retry-after is not declared for this response/,
    );
  });

  it('when the media type, the path or the server is not the documented one, then the violation says so', async () => {
    expect(await checker.checkResponse('order', answer({ url: '/healthz', headers: new Headers({ 'content-type': 'text/html' }), body: '<p>ok</p>' }))).toMatch(/Content-Type text\/html is not declared \(declared: application\/json\)$/);
    expect(await checker.checkResponse('order', answer({ url: '/orders/x/y', status: 404, body: { error: 'not found' } }))).toBeUndefined();
    expect(await checker.checkResponse('order', answer({ url: '/orders/x/y', status: 200, body: { error: 'not found' } }))).toMatch(/no path of the document matches \/orders\/x\/y on the order server, and the answer is not the documented 404 \(not a 404\)$/);
    expect(await checker.checkResponse('order', answer({ url: '/orders/', body: { orders: [] } }))).toBeUndefined();
    expect(await checker.checkResponse('order', answer({ url: '/stock/SKU-MUG', body: { sku: 'SKU-MUG', available: 1, reserved: 0 } }))).toMatch(/no path of the document matches \/stock\/SKU-MUG on the order server \(\/stock\/\{sku\} is another server's\)/);
    expect(await checker.checkResponse('inventory', answer({ url: '/stock/', status: 404, body: { error: 'not found' } }))).toBeUndefined();
    expect(await checker.checkResponse('order', answer({ url: '/healthz', body: 'ok' }))).toMatch(/the body is not JSON: ok$/);
  });
});

describe('the contract check of messages', () => {
  let checker: ContractChecker;
  beforeAll(async () => {
    checker = await ContractChecker.load();
  });

  it('when a service publishes an event as the document says, then it passes and its type is counted', async () => {
    expect(await checker.checkMessage(message())).toBeUndefined();
    expect(checker.eventsSeen).toEqual(new Set(['OrderPlaced']));
  });

  it('when the payload breaks the event schema, then the violation names the exchange, the type and the field', async () => {
    const event = anEvent('OrderPlaced', { data: { total: { amountCents: -1, currency: 'USD' } } as never });
    expect(await checker.checkMessage(message({ payload: event }))).toMatch(/^order\.events: OrderPlaced: payload #\/data\/total\/amountCents = -1 fails asyncapi\/OrderPlaced\/payload#\/properties\/data\//);
    const { orderId: _gone, ...orphan } = anEvent('OrderPlaced');
    expect(await checker.checkMessage(message({ payload: orphan }))).toBe('order.events: OrderPlaced: payload # lacks orderId (required by asyncapi/OrderPlaced/payload#/required)');
  });

  it('when a header, the type, the content type or the delivery mode is wrong, then the violation says which', async () => {
    expect(await checker.checkMessage(message({ properties: { contentType: 'application/json', type: 'OrderPlaced', deliveryMode: 2, headers: { traceparent: 'nope' } } }))).toMatch(
      /^order\.events: OrderPlaced: headers #\/traceparent = "nope" fails/,
    );
    expect(await checker.checkMessage(message({ exchange: 'payment.events' }))).toMatch(/^payment\.events: OrderPlaced: the type property names no message of channel paymentEvents/);
    expect(await checker.checkMessage(message({ properties: { contentType: 'text/plain', type: 'OrderPlaced', deliveryMode: 2 } }))).toBe('order.events: OrderPlaced: content type text/plain, declared application/json');
    expect(await checker.checkMessage(message({ properties: { contentType: 'application/json', type: 'OrderPlaced', deliveryMode: 1 } }))).toBe('order.events: OrderPlaced: delivery mode 1, declared 2');
  });
});
