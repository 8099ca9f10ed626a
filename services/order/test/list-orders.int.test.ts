import { orderListSchema } from '@troupe/contracts';
import { anOrderRequest } from '@troupe/testing';
import { startHarness, type Harness } from '@troupe/service-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { orderService } from '../src/main';

// GET /orders: the latest orders, newest first, for pages that show what is going on.
let order: Harness<Config>;

beforeAll(async () => {
  order = await startHarness({ label: 'order_list', loadConfig, service: orderService, publishesOn: 'order.events' });
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

    const response = await fetch(`${order.baseUrl}/orders?limit=2`);
    expect(response.status).toBe(200);
    // The answer is what the published contract (OpenAPI) says it is.
    const { orders } = orderListSchema.parse(await response.json());
    expect(orders.map((o) => o.orderId)).toEqual([ids[2], ids[1]]);
    expect(orders[0]).toMatchObject({ status: 'PENDING', total: { amountCents: expect.any(Number) } });
  });

  it('when no limit is given, then at most 20 come back', async () => {
    const response = await fetch(`${order.baseUrl}/orders`);
    expect(response.status).toBe(200);
    const { orders } = (await response.json()) as { orders: unknown[] };
    expect(orders.length).toBeGreaterThanOrEqual(3);
    expect(orders.length).toBeLessThanOrEqual(20);
  });

  it.each([['0'], ['101'], ['abc'], ['1.5']])('when limit is %s, then 400 names the field', async (limit) => {
    const response = await fetch(`${order.baseUrl}/orders?limit=${limit}`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ details: [{ field: 'limit' }] });
  });

  it('when an unknown query parameter is given, then 400 names it', async () => {
    const response = await fetch(`${order.baseUrl}/orders?status=PAID`);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ details: [{ field: 'status' }] });
  });
});
