import { anOrderRequest } from '@troupe/testing';
import { startHarness, type Harness } from '@troupe/service-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { orderService } from '../src/main';

// One POST at a time and a short queue wait, so an overload is easy to make: the price list is
// locked while the first request reads it, and every later request waits its turn behind it.
const MAX_WAIT_MS = 300;
let order: Harness<Config>;

beforeAll(async () => {
  order = await startHarness({
    label: 'order_overload',
    loadConfig,
    service: orderService,
    publishesOn: 'order.events',
    env: { ORDER_MAX_IN_FLIGHT: '1', ORDER_MAX_QUEUE_WAIT_MS: String(MAX_WAIT_MS) },
  });
});

afterAll(async () => {
  await order?.stop();
});

const post = () =>
  fetch(`${order.baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anOrderRequest()) });

describe('POST /orders under overload', () => {
  it('when requests wait longer than ORDER_MAX_QUEUE_WAIT_MS for a turn, then they get 503 with Retry-After and a JSON error, and the one in progress still completes', async () => {
    const shedBefore = await order.metric('troupe_order_requests_shed_total');
    const lock = await order.running.pool.connect();
    try {
      await lock.query('BEGIN');
      await lock.query('LOCK TABLE products IN ACCESS EXCLUSIVE MODE');
      const first = post();
      // The first request holds the only turn (blocked on the lock) before the others arrive.
      await new Promise((resolve) => setTimeout(resolve, 100));
      const started = performance.now();
      const waiting = await Promise.all(Array.from({ length: 5 }, post));
      const elapsed = performance.now() - started;

      for (const response of waiting) {
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('1');
        expect(await response.json()).toEqual({ error: expect.stringContaining('overloaded') });
      }
      // Refused once they had waited their bound, not held for as long as the overload lasts.
      expect(elapsed).toBeGreaterThanOrEqual(MAX_WAIT_MS - 50);
      expect(elapsed).toBeLessThan(MAX_WAIT_MS + 3000);
      await lock.query('COMMIT');
      expect((await first).status).toBe(202);
    } finally {
      await lock.query('ROLLBACK').catch(() => undefined);
      lock.release();
    }
    expect(await order.metric('troupe_order_requests_shed_total')).toBe(shedBefore + 5);
  });

  it('when the overload is over, then requests are served again', async () => {
    const responses = [];
    for (let i = 0; i < 3; i++) responses.push((await post()).status);
    expect(responses).toEqual([202, 202, 202]);
  });
});
