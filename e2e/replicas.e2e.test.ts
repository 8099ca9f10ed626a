import { randomUUID } from 'node:crypto';
import { anOrderRequest } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { reaches, sql } from './support/api';
import { contracts } from './support/contracts';
import { useSystem } from './support/hooks';
import { RoundRobin } from './support/round-robin';

// The order service as two replicas behind a round-robin, as a Kubernetes Service would put them:
// the idempotency keys live in the shared database, so a key gives one order whichever replica
// (or replicas, at once) the requests reach.
const ctx = useSystem('replicas');
let front: RoundRobin;

beforeAll(async () => {
  const replica = await ctx.system.startReplica('order');
  front = await RoundRobin.start([ctx.system.baseUrl('order'), replica.baseUrl]);
  contracts.watch(front.url, 'order');
});

afterAll(async () => {
  await front?.close();
});

const post = (body: unknown, key: string) =>
  fetch(`${front.url}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });

describe('order replicas behind a round-robin', () => {
  it('when ten POSTs with one Idempotency-Key arrive at once across both replicas, then one order is placed and every answer is that order', async () => {
    const customerId = `rr-${randomUUID()}`;
    const key = randomUUID();
    const hitsBefore = [...front.hits];

    const responses = await Promise.all(Array.from({ length: 10 }, () => post(anOrderRequest({ customerId }), key)));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as { orderId: string }[];

    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    expect(new Set(bodies.map((b) => b.orderId)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') !== 'true')).toHaveLength(1);
    expect(front.hits.map((n, i) => n - (hitsBefore[i] ?? 0))).toEqual([5, 5]);
    const rows = await sql(ctx.system, 'order', 'SELECT id FROM orders WHERE customer_id = $1', [customerId]);
    expect(rows).toEqual([{ id: bodies[0]?.orderId }]);
    await reaches(ctx.system, bodies[0]!.orderId, 'COMPLETED');
  });

  it('when a key used on one replica is reused on the other with another body, then the other answers 422', async () => {
    const key = randomUUID();

    const first = await post(anOrderRequest({ customerId: 'rr-a' }), key);
    const second = await post(anOrderRequest({ customerId: 'rr-b' }), key);

    expect([first.status, second.status]).toEqual([202, 422]);
    expect(await second.json()).toMatchObject({ error: expect.stringContaining('Idempotency-Key') });
  });

  it('when twenty orders with distinct keys go through the round-robin, then each replica places half and all complete', async () => {
    const hitsBefore = [...front.hits];

    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => post(anOrderRequest({ customerId: `rr-many-${i}` }), randomUUID())));
    const ids = ((await Promise.all(responses.map((r) => r.json()))) as { orderId: string }[]).map((b) => b.orderId);

    expect(new Set(ids).size).toBe(20);
    expect(front.hits.map((n, i) => n - (hitsBefore[i] ?? 0))).toEqual([10, 10]);
    await Promise.all(ids.map((id) => reaches(ctx.system, id, 'COMPLETED')));
  });
});
