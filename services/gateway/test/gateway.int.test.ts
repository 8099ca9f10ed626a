import { randomUUID } from 'node:crypto';
import { createLogger } from '@troupe/platform';
import { createTestDatabase, type TestDatabase } from '@troupe/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { loadConfig } from '../src/config';
import { startGateway, type RunningGateway } from '../src/main';

const ADMIN_TOKEN = 'test-admin-token-0123456789';
const OPERATOR_READ_TOKEN = 'test-read-token-0123456789';
const operator = { headers: { authorization: `Bearer ${OPERATOR_READ_TOKEN}` } };
let database: TestDatabase;
let gateway: RunningGateway;
let baseUrl: string;

const start = async () => {
  gateway = await startGateway(loadConfig({ DATABASE_URL: database.url, PORT: '0', ADMIN_TOKEN, OPERATOR_READ_TOKEN, LOG_LEVEL: 'silent' }), createLogger('gateway', 'silent'));
  baseUrl = `http://127.0.0.1:${gateway.port}`;
};

beforeAll(async () => {
  database = await createTestDatabase(inject('databaseUrl'), 'gateway', inject('access').gateway);
  await start();
});

afterAll(async () => {
  await gateway?.stop();
  await database?.drop();
});

beforeEach(async () => {
  await setFaults({ gatewayFailureRate: 0, gatewayLatencyMs: 0 });
});

const post = (path: string, key: string | undefined, body: unknown) =>
  fetch(`${baseUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'Idempotency-Key': key }) },
    body: JSON.stringify(body),
  });
const aCharge = (overrides: Record<string, unknown> = {}) => ({ orderId: randomUUID(), amountCents: 3000, currency: 'USD', token: 'tok_visa', ...overrides });
const charge = (body: { orderId: string } & Record<string, unknown>, key = body.orderId) => post('/charges', key, body);
const refund = (orderId: string, amountCents = 3000, key = `refund:${orderId}`) => post('/refunds', key, { orderId, amountCents, currency: 'USD' });
const ledger = async (orderId: string) => ((await (await fetch(`${baseUrl}/ledger?orderId=${orderId}`, operator)).json()) as { entries: Record<string, unknown>[] }).entries;
type ErrorBody = { error: string; details: { field: string; message: string }[] };
const setFaults = (change: Record<string, number>) =>
  fetch(`${baseUrl}/admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_TOKEN}` }, body: JSON.stringify(change) });

describe('POST /charges', () => {
  it('when tok_visa is charged, then it is approved and the ledger holds one charge under the key', async () => {
    const body = aCharge();

    const response = await charge(body);

    expect(response.status).toBe(201);
    const entry = await response.json();
    expect(entry).toEqual({
      id: expect.any(String),
      kind: 'charge',
      idempotencyKey: body.orderId,
      orderId: body.orderId,
      amountCents: 3000,
      currency: 'USD',
      outcome: 'approved',
      declineReason: null,
      createdAt: expect.any(String),
    });
    expect(await ledger(body.orderId)).toEqual([entry]);
  });

  it('when tok_declined is charged, then the decline is a ledger entry with its reason', async () => {
    const body = aCharge({ token: 'tok_declined' });

    const entry = await (await charge(body)).json();

    expect(entry).toMatchObject({ outcome: 'declined', declineReason: 'card declined' });
    expect(await ledger(body.orderId)).toHaveLength(1);
  });

  it('when an unknown token is charged, then it is declined as unknown', async () => {
    const body = aCharge({ token: 'tok_stolen' });

    expect(await (await charge(body)).json()).toMatchObject({ outcome: 'declined', declineReason: 'unknown payment token' });
  });

  it('when tok_flaky is charged three times, then the first two are 503 with nothing in the ledger and the third is approved', async () => {
    const body = aCharge({ token: 'tok_flaky' });

    const first = await charge(body);
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('1');
    expect(await first.json()).toEqual({ error: 'gateway timed out (simulated, attempt 1 of 3)' });
    expect(await ledger(body.orderId)).toEqual([]);
    expect((await charge(body)).status).toBe(503);

    const third = await charge(body);

    expect(third.status).toBe(201);
    expect(await third.json()).toMatchObject({ outcome: 'approved' });
    expect(await ledger(body.orderId)).toHaveLength(1);
  });

  it('when the same key and body come again, then the first result is replayed and nothing new is charged', async () => {
    const body = aCharge();
    const first = await (await charge(body)).json();

    const again = await charge(body);

    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(first);
    expect(await ledger(body.orderId)).toHaveLength(1);
  });

  it('when a declined charge is sent again with a good card under the same key, then it is 422 and stays declined', async () => {
    const body = aCharge({ token: 'tok_declined' });
    await charge(body);

    const reused = await charge({ ...body, token: 'tok_visa' });

    expect(reused.status).toBe(422);
    expect(await reused.json()).toEqual({ error: `Idempotency-Key ${body.orderId} was used for a different request` });
    expect(await ledger(body.orderId)).toEqual([expect.objectContaining({ outcome: 'declined' })]);
  });

  it('when twenty requests with one key arrive at once, then exactly one charge is made and all twenty get it', async () => {
    const body = aCharge();

    const responses = await Promise.all(Array.from({ length: 20 }, () => charge(body)));

    const entries = await Promise.all(responses.map((r) => r.json() as Promise<{ id: string }>));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(201));
    expect(new Set(entries.map((e) => e.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === 'true')).toHaveLength(19);
    expect(await ledger(body.orderId)).toHaveLength(1);
  });

  it('when the gateway restarts, then its ledger is still there and a repeated key still charges nothing', async () => {
    const body = aCharge();
    const first = await (await charge(body)).json();

    await gateway.stop();
    await start();

    expect(await ledger(body.orderId)).toEqual([first]);
    expect(await (await charge(body)).json()).toEqual(first);
  });

  it.each([
    [{ amountCents: 0 }, 'amountCents'],
    [{ currency: 'usd' }, 'currency'],
    [{ token: '' }, 'token'],
    [{ orderId: 'x'.repeat(101) }, 'orderId'],
    [{ surprise: 1 }, 'surprise'],
  ])('when the body is %j, then it is 400 naming %s and nothing is charged', async (overrides, field) => {
    const body = aCharge(overrides);

    const response = await charge(body, randomUUID());

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).details).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
  });

  it('when the Idempotency-Key is missing or too long, then it is 400 naming the header', async () => {
    const missing = await post('/charges', undefined, aCharge());
    const bad = await post('/charges', 'k'.repeat(256), aCharge());

    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({ error: 'invalid request: Idempotency-Key: required', details: [{ field: 'Idempotency-Key', message: 'required' }] });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as ErrorBody).details).toEqual([{ field: 'Idempotency-Key', message: 'must be 1-255 printable ASCII characters' }]);
  });
});

describe('POST /refunds', () => {
  it('when an approved charge is refunded under its own key, then the ledger holds the charge and the refund', async () => {
    const body = aCharge();
    await charge(body);

    const response = await refund(body.orderId);

    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ kind: 'refund', idempotencyKey: `refund:${body.orderId}`, outcome: 'refunded', amountCents: 3000 });
    expect((await ledger(body.orderId)).map((e) => [e.kind, e.outcome])).toEqual([
      ['charge', 'approved'],
      ['refund', 'refunded'],
    ]);
  });

  it('when the refund is sent again with its key, then it is replayed and nothing more is refunded', async () => {
    const body = aCharge();
    await charge(body);
    const first = await (await refund(body.orderId)).json();

    const again = await refund(body.orderId);

    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(await again.json()).toEqual(first);
    expect(await ledger(body.orderId)).toHaveLength(2);
  });

  it('when there is no approved charge, or the refund exceeds what is left, then it is 422 and nothing is refunded', async () => {
    const declined = aCharge({ token: 'tok_declined' });
    await charge(declined);
    const charged = aCharge();
    await charge(charged);
    await refund(charged.orderId, 2000, 'first-part');

    const nothingToRefund = await refund(declined.orderId);
    const tooMuch = await refund(charged.orderId, 1001, 'second-part');

    expect(nothingToRefund.status).toBe(422);
    expect(await nothingToRefund.json()).toEqual({ error: `no approved charge for order ${declined.orderId}` });
    expect(tooMuch.status).toBe(422);
    expect(await tooMuch.json()).toEqual({ error: 'refund of 1001 exceeds the 1000 left of the charge' });
    expect(await ledger(charged.orderId)).toHaveLength(2);
  });
});

describe('GET /ledger', () => {
  it('when the operator token is missing or wrong, then it is 401, and the read-only token moves no fault switch', async () => {
    for (const init of [{}, { headers: { authorization: `Bearer ${ADMIN_TOKEN.replace('admin', 'nimda')}` } }]) {
      const response = await fetch(`${baseUrl}/ledger?orderId=${randomUUID()}`, init);
      expect([response.status, response.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
    }
    expect((await fetch(`${baseUrl}/ledger?orderId=${randomUUID()}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${baseUrl}/admin/faults`, operator)).status).toBe(401);
  });

  it('when orderId is missing, then it is 400 naming it', async () => {
    const response = await fetch(`${baseUrl}/ledger`, operator);

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).details).toEqual([expect.objectContaining({ field: 'orderId' })]);
  });
});

describe('fault switches', () => {
  it('when the admin token is missing, then they cannot be read or changed', async () => {
    expect((await fetch(`${baseUrl}/admin/faults`)).status).toBe(401);
  });

  it('when the failure rate is 1, then every charge is 503 and nothing is charged; at 0 the same key charges once', async () => {
    const body = aCharge();
    await setFaults({ gatewayFailureRate: 1 });

    const failed = await charge(body);

    expect(failed.status).toBe(503);
    expect(await failed.json()).toEqual({ error: 'gateway unavailable (fault switch gatewayFailureRate)' });
    expect(await ledger(body.orderId)).toEqual([]);
    await setFaults({ gatewayFailureRate: 0 });
    expect((await charge(body)).status).toBe(201);
    expect(await ledger(body.orderId)).toHaveLength(1);
  });

  it('when the latency is set, then a charge takes at least that long', async () => {
    await setFaults({ gatewayLatencyMs: 300 });
    const started = performance.now();

    await charge(aCharge());

    expect(performance.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('when a switch is out of range or unknown, then it is 400 naming it', async () => {
    const response = await setFaults({ gatewayFailureRate: 1.5, paymentGatewayFailureRate: 1 });

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).details.map((d: { field: string }) => d.field).sort()).toEqual(['gatewayFailureRate', 'paymentGatewayFailureRate']);
  });
});

describe('health', () => {
  it('when the database answers, then /healthz and /readyz are 200', async () => {
    expect((await fetch(`${baseUrl}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${baseUrl}/readyz`)).json()).toEqual({ status: 'ready', checks: { database: true } });
  });
});
