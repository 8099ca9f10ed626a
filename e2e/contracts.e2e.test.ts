import { randomUUID } from 'node:crypto';
import { anOrderRequest } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { placeOrder, reaches, settled } from './support/api';
import { useSystem } from './support/hooks';
import { contracts } from './support/contracts';
import { freePort, OPERATOR_READ_TOKEN, operatorHeaders, SERVICES, spawnService, type Process, type ServiceProcess } from './support/system';
import { startWebFront } from './support/web-front';

// Every route of the published document, its refusals included, asked once: the statuses are
// asserted here, and every answer is checked against docs/contracts/openapi.json by the e2e
// project's setup file (a violation fails the test that met it). The workflow's own suites cover
// the happy paths; this covers what they leave out: the admin API with and without the token, the
// refusals of each route and the web front's. (A 304 cannot be asked for here: fetch turns a
// conditional request into one that refuses cached answers; the browser suite meets them.)
const ADMIN_TOKEN = 'contracts-admin-token';
const ctx = useSystem('contracts', () => ({ ADMIN_TOKEN }));
let web: string;
let webFront: ServiceProcess | undefined;

type Target = Parameters<typeof ctx.system.baseUrl>[0] | 'web';
const url = (target: Target, path: string) => `${target === 'web' ? web : ctx.system.baseUrl(target)}${path}`;
const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };

async function ask(target: Target, method: string, path: string, options: { body?: string; headers?: Record<string, string> } = {}) {
  const response = await fetch(url(target, path), {
    method,
    headers: { ...(options.body === undefined ? {} : { 'content-type': 'application/json' }), ...options.headers },
    ...(options.body === undefined ? {} : { body: options.body }),
    signal: AbortSignal.timeout(10_000),
  });
  await response.arrayBuffer();
  return response;
}

const statusOf = async (...args: Parameters<typeof ask>) => (await ask(...args)).status;

describe('every route against the published document', () => {
  beforeAll(async () => {
    const started = await startWebFront(ctx.system, { ADMIN_TOKEN });
    web = started.url;
    webFront = started.proc;
  });

  afterAll(async () => {
    await webFront?.stop();
  });

  it('when POST /orders is refused in each way it can be, then each refusal has its documented status and body', async () => {
    const key = randomUUID();
    const body = JSON.stringify(anOrderRequest());
    expect(await statusOf('order', 'POST', '/orders', { body, headers: { 'idempotency-key': key } })).toBe(202);
    const replayed = await ask('order', 'POST', '/orders', { body, headers: { 'idempotency-key': key } });
    expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([202, 'true']);
    expect(await statusOf('order', 'POST', '/orders', { body: JSON.stringify(anOrderRequest({ customerId: 'another' })), headers: { 'idempotency-key': key } })).toBe(422);
    expect(await statusOf('order', 'POST', '/orders', { body: '{not json' })).toBe(400);
    expect(await statusOf('order', 'POST', '/orders', { body: JSON.stringify(anOrderRequest({ items: [{ sku: 'SKU-NOPE', quantity: 1 }] })) })).toBe(400);
    expect(await statusOf('order', 'POST', '/orders', { body: 'plain text', headers: { 'content-type': 'text/plain' } })).toBe(415);
    expect(await statusOf('order', 'POST', '/orders', { body: JSON.stringify({ ...anOrderRequest(), customerId: 'x'.repeat(40_000) }) })).toBe(413);
    expect(await statusOf('order', 'GET', '/healthz', { headers: { 'x-large': 'x'.repeat(20_000) } })).toBe(431);
  });

  it('when orders, stock and notifications are read, including what does not exist, then each answer is the documented one', async () => {
    const order = await placeOrder(ctx.system);
    await settled(ctx.system, order.orderId);
    expect(await statusOf('order', 'GET', `/orders/${order.orderId}`)).toBe(200);
    expect(await statusOf('order', 'GET', `/orders/${randomUUID()}`)).toBe(404);
    expect(await statusOf('order', 'GET', '/orders/%ff')).toBe(400);
    expect(await statusOf('order', 'GET', '/orders?limit=5', { headers: operatorHeaders })).toBe(200);
    expect(await statusOf('order', 'GET', '/orders?limit=0', { headers: operatorHeaders })).toBe(400);
    expect(await statusOf('inventory', 'GET', '/stock/SKU-MUG')).toBe(200);
    expect(await statusOf('inventory', 'GET', '/stock/SKU-NOPE')).toBe(404);
    expect(await statusOf('notification', 'GET', `/notifications?orderId=${order.orderId}`)).toBe(200);
    expect(await statusOf('notification', 'GET', `/notifications?orderId=${order.orderId}`, { headers: admin })).toBe(200);
    expect(await statusOf('notification', 'GET', '/notifications?orderId=nope')).toBe(400);
    for (const service of SERVICES) {
      expect(await statusOf(service, 'GET', '/metrics')).toBe(200);
      expect(await statusOf(service, 'GET', `/failed-attempts?orderId=${order.orderId}`, { headers: admin })).toBe(200);
      expect(await statusOf(service, 'GET', '/failed-attempts?orderId=nope', { headers: operatorHeaders })).toBe(400);
      expect(await statusOf(service, 'GET', '/no-such-route')).toBe(404);
    }
  });

  it("when an operator's reads are asked for without a token, with a wrong one, with the read token or the admin token, then only the tokens read, and the 401 names the header", async () => {
    const order = await placeOrder(ctx.system);
    const reads: [Process, string][] = [
      ['order', '/orders?limit=5'],
      ['gateway', `/ledger?orderId=${order.orderId}`],
      ...SERVICES.map((service): [Process, string] => [service, `/failed-attempts?orderId=${order.orderId}`]),
      ...SERVICES.map((service): [Process, string] => [service, '/dead-letters/count']),
    ];
    const wrong = { authorization: `Bearer ${'x'.repeat(OPERATOR_READ_TOKEN.length)}` };
    for (const [service, path] of reads) {
      for (const headers of [{}, wrong, { authorization: OPERATOR_READ_TOKEN }]) {
        const refused = await fetch(url(service, path), { headers });
        expect([service, path, refused.status, refused.headers.get('www-authenticate')]).toEqual([service, path, 401, 'Bearer']);
        expect(((await refused.json()) as { error: string }).error).toMatch(/Authorization: Bearer/);
      }
      expect([service, path, await statusOf(service, 'GET', path, { headers: operatorHeaders })]).toEqual([service, path, 200]);
      expect([service, path, await statusOf(service, 'GET', path, { headers: admin })]).toEqual([service, path, 200]);
    }
    // The customer's own views stay open: the order by its id, what they were told (without
    // their address and the text, which only an operator's token reads).
    expect(await statusOf('order', 'GET', `/orders/${order.orderId}`)).toBe(200);
    await settled(ctx.system, order.orderId);
    const told = async (headers: Record<string, string>) =>
      ((await (await fetch(url('notification', `/notifications?orderId=${order.orderId}`), { headers })).json()) as { notifications: { recipient?: string }[] }).notifications;
    expect((await told({})).map((n) => n.recipient)).toEqual([undefined]);
    expect((await told(operatorHeaders)).map((n) => n.recipient)).toEqual(['ada@example.com']);
    // The read token is no admin: the admin API refuses it.
    expect(await statusOf('payment', 'GET', '/admin/dlq', { headers: operatorHeaders })).toBe(401);
  });

  it('when neither OPERATOR_READ_TOKEN nor ADMIN_TOKEN is set, then the operator reads do not exist (404), and the customer views still answer', async () => {
    const order = await placeOrder(ctx.system);
    const started: ServiceProcess[] = [];
    /** Another order service and gateway on the system's broker and databases, with no token at all. */
    const startBare = async (service: 'order' | 'gateway') => {
      const port = await freePort();
      const proc = spawnService(
        service,
        {
          ...(service === 'order' ? { RABBITMQ_URL: ctx.system.vhost.urlFor('order') } : {}),
          DATABASE_URL: ctx.system.databaseUrl(service),
          PORT: String(port),
          HOST: '127.0.0.1',
          LOG_LEVEL: 'warn',
        },
        ctx.system.logs,
      );
      started.push(proc);
      contracts.watch(proc.baseUrl, service);
      await expect.poll(() => fetch(`${proc.baseUrl}/readyz`).then((r) => r.status, () => 0), { timeout: 30_000, interval: 200 }).toBe(200);
      return proc.baseUrl;
    };
    try {
      const [orders, gateway] = await Promise.all([startBare('order'), startBare('gateway')]);
      for (const headers of [{}, operatorHeaders, admin]) {
        expect((await fetch(`${orders}/orders?limit=5`, { headers })).status).toBe(404);
        expect((await fetch(`${orders}/failed-attempts?orderId=${order.orderId}`, { headers })).status).toBe(404);
        expect((await fetch(`${gateway}/ledger?orderId=${order.orderId}`, { headers })).status).toBe(404);
      }
      expect((await fetch(`${orders}/orders/${order.orderId}`)).status).toBe(200);
    } finally {
      await Promise.all(started.map((proc) => proc.stop()));
    }
  });

  it('when the admin API is used with and without the token, then every answer is documented, the 401 saying how to authenticate', async () => {
    for (const service of SERVICES) {
      const refused = await ask(service, 'GET', '/admin/dlq');
      expect([refused.status, refused.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
      expect(await statusOf(service, 'GET', '/admin/dlq?limit=10', { headers: admin })).toBe(200);
      expect(await statusOf(service, 'GET', '/admin/dlq?limit=0', { headers: admin })).toBe(400);
      expect(await statusOf(service, 'POST', '/admin/dlq/replay', { body: JSON.stringify({ ids: ['none'] }), headers: admin })).toBe(200);
      expect(await statusOf(service, 'POST', '/admin/dlq/purge', { body: JSON.stringify({ ids: ['none'] }), headers: admin })).toBe(200);
      expect(await statusOf(service, 'POST', '/admin/dlq/purge', { body: JSON.stringify({ everything: true }), headers: admin })).toBe(400);
      expect(await statusOf(service, 'POST', '/admin/dlq/purge', { body: 'all', headers: { ...admin, 'content-type': 'text/plain' } })).toBe(415);
    }
    for (const service of ['gateway', 'inventory', 'notification'] as const) {
      expect(await statusOf(service, 'GET', '/admin/faults', { headers: admin })).toBe(200);
      expect(await statusOf(service, 'GET', '/admin/faults')).toBe(401);
      expect(await statusOf(service, 'PUT', '/admin/faults', { body: JSON.stringify({ nope: 1 }), headers: admin })).toBe(400);
    }
    expect(await statusOf('payment', 'GET', '/admin/faults', { headers: admin })).toBe(404);
    // A charge dead-lettered by the gateway's fault switch, then replayed with the switch off.
    expect(await statusOf('gateway', 'PUT', '/admin/faults', { body: JSON.stringify({ gatewayFailureRate: 1 }), headers: admin })).toBe(200);
    const order = await placeOrder(ctx.system);
    await expect
      .poll(async () => ((await (await fetch(url('payment', '/admin/dlq'), { headers: admin })).json()) as { count: number }).count, { timeout: 30_000, interval: 250 })
      .toBe(1);
    expect(await statusOf('gateway', 'PUT', '/admin/faults', { body: JSON.stringify({ gatewayFailureRate: 0 }), headers: admin })).toBe(200);
    expect(await statusOf('payment', 'POST', '/admin/dlq/replay', { body: JSON.stringify({ all: true }), headers: admin })).toBe(200);
    await reaches(ctx.system, order.orderId, 'COMPLETED');
    expect(await statusOf('payment', 'GET', `/failed-attempts?orderId=${order.orderId}`, { headers: admin })).toBe(200);
    // The gateway's own routes: the ledger, a charge replayed under its key, a bad request.
    expect(await statusOf('gateway', 'GET', `/ledger?orderId=${order.orderId}`, { headers: operatorHeaders })).toBe(200);
    expect(await statusOf('gateway', 'GET', '/ledger', { headers: operatorHeaders })).toBe(400);
    const charge = { orderId: order.orderId, amountCents: 100, currency: 'USD', token: 'tok_visa' };
    expect(await statusOf('gateway', 'POST', '/charges', { body: JSON.stringify(charge), headers: { 'idempotency-key': `contracts-${order.orderId}` } })).toBe(201);
    const replayed = await ask('gateway', 'POST', '/charges', { body: JSON.stringify(charge), headers: { 'idempotency-key': `contracts-${order.orderId}` } });
    expect([replayed.status, replayed.headers.get('idempotent-replayed')]).toEqual([201, 'true']);
    expect(await statusOf('gateway', 'POST', '/charges', { body: JSON.stringify({ ...charge, amountCents: 'lots' }), headers: { 'idempotency-key': 'contracts-bad' } })).toBe(400);
  });

  it("when the web front's routes are asked, refusals and revalidations included, then each answer is the documented one", async () => {
    const order = await placeOrder(ctx.system);
    await settled(ctx.system, order.orderId);
    expect(await statusOf('web', 'GET', '/')).toBe(200);
    expect(await statusOf('web', 'GET', '/app.js')).toBe(200);
    expect(await statusOf('web', 'GET', '/nope.js')).toBe(404);
    expect(await statusOf('web', 'POST', '/api/orders', { body: JSON.stringify({ nope: 1 }) })).toBe(200);
    expect(await statusOf('web', 'GET', `/api/orders/${order.orderId}/journey`, { headers: admin })).toBe(200);
    expect(await statusOf('web', 'GET', `/api/orders/${randomUUID()}/journey`)).toBe(404);
    expect(await statusOf('web', 'GET', '/api/orders/nope/journey')).toBe(400);
    expect(await statusOf('web', 'PUT', '/api/admin/faults/gateway', { body: JSON.stringify({ gatewayFailureRate: 0 }), headers: admin })).toBe(200);
    expect(await statusOf('web', 'PUT', '/api/admin/faults/gateway', { body: JSON.stringify({ gatewayFailureRate: 2 }), headers: admin })).toBe(400);
    expect(await statusOf('web', 'PUT', '/api/admin/faults/payment', { body: JSON.stringify({ gatewayFailureRate: 0 }), headers: admin })).toBe(404);
    expect(await statusOf('web', 'PUT', '/api/admin/faults/gateway', { body: JSON.stringify({ gatewayFailureRate: 0 }) })).toBe(401);
    expect(await statusOf('web', 'POST', '/api/admin/dead-letters/payment/purge', { body: JSON.stringify({ ids: ['none'] }), headers: admin })).toBe(200);
    expect(await statusOf('web', 'POST', '/api/admin/dead-letters/payment/replay', { body: JSON.stringify({ nope: true }), headers: admin })).toBe(400);
    expect(await statusOf('web', 'POST', '/api/admin/dead-letters/nope/purge', { body: JSON.stringify({ ids: ['none'] }), headers: admin })).toBe(404);
  });
});
