import { orderListSchema } from '@troupe/contracts';
import { anOrderRequest } from '@troupe/testing';
import { startHarness, type Harness } from '@troupe/service-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { orderService } from '../src/main';

// GET /orders: the latest orders, newest first, for pages that show what is going on: an
// operator's read (docs/decisions/0029).
const OPERATOR_READ_TOKEN = 'order-list-read-token-0123';
const operator = { headers: { authorization: `Bearer ${OPERATOR_READ_TOKEN}` } };
let order: Harness<Config>;

beforeAll(async () => {
  order = await startHarness({ label: 'order_list', loadConfig, service: orderService, publishesOn: 'order.events', env: { OPERATOR_READ_TOKEN } });
});

afterAll(async () => {
  await order?.stop();
});

async function place(): Promise<string> {
  const response = await fetch(`${order.baseUrl}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anOrderRequest()),
  });
  expect(response.status).toBe(202);
  return ((await response.json()) as { orderId: string }).orderId;
}

describe('GET /orders', () => {
  it('when orders were placed, then the latest come first, as many as the limit says', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await place());

    const response = await fetch(`${order.baseUrl}/orders?limit=2`, operator);
    expect(response.status).toBe(200);
    // The answer is what the published contract (OpenAPI) says it is.
    const { orders } = orderListSchema.parse(await response.json());
    expect(orders.map((o) => o.orderId)).toEqual([ids[2], ids[1]]);
    expect(orders[0]).toMatchObject({ status: 'PENDING', total: { amountCents: expect.any(Number) } });
  });

  it('when the token is missing or wrong, then 401 names the header and lists nothing', async () => {
    for (const init of [{}, { headers: { authorization: `Bearer ${OPERATOR_READ_TOKEN.toUpperCase()}` } }]) {
      const response = await fetch(`${order.baseUrl}/orders`, init);
      expect([response.status, response.headers.get('www-authenticate')]).toEqual([401, 'Bearer']);
      expect(await response.json()).toEqual({ error: 'operator token required: Authorization: Bearer <OPERATOR_READ_TOKEN>' });
    }
  });

  it('when no limit is given, then at most 20 come back', async () => {
    const response = await fetch(`${order.baseUrl}/orders`, operator);
    expect(response.status).toBe(200);
    const { orders } = (await response.json()) as { orders: unknown[] };
    expect(orders.length).toBeGreaterThanOrEqual(3);
    expect(orders.length).toBeLessThanOrEqual(20);
  });

  it.each([['0'], ['101'], ['abc'], ['1.5']])('when limit is %s, then 400 names the field', async (limit) => {
    const response = await fetch(`${order.baseUrl}/orders?limit=${limit}`, operator);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ details: [{ field: 'limit' }] });
  });

  it('when an unknown query parameter is given, then 400 names it', async () => {
    const response = await fetch(`${order.baseUrl}/orders?status=PAID`, operator);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ details: [{ field: 'status' }] });
  });
});
