import { randomUUID } from 'node:crypto';
import { deadLetterGroupListSchema, HEADER } from '@troupe/contracts';
import { inboxPruning, pruneRound } from '@troupe/service';
import { anEvent, eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config';
import { expectEnvelope, expectReady, type Harness } from '@troupe/service-harness';
import { startPaymentWithGateway, type TestGateway } from './gateway';

let payment: Harness<Config>;
let gateway: TestGateway;
const ADMIN_TOKEN = 'test-admin-token-0123456789';

beforeAll(async () => {
  ({ payment, gateway } = await startPaymentWithGateway('payment', { ADMIN_TOKEN, GATEWAY_TIMEOUT_MS: '1000' }));
});

afterAll(async () => {
  await payment?.stop();
  await gateway?.remove();
});

const anOrderPlaced = (token = 'tok_visa') => anEvent('OrderPlaced', { data: { paymentMethod: { token } } });

const paymentsOf = async (orderId: string) =>
  (
    await payment.running.pool.query<{ id: string; status: string; amount_cents: number; currency: string; decline_reason: string | null; refund_reason: string | null; refunded_at: Date | null }>(
      'SELECT id, status, amount_cents, currency, decline_reason, refund_reason, refunded_at FROM payments WHERE order_id = $1',
      [orderId],
    )
  ).rows;

/** The gateway's ledger for the order, as [kind, idempotency key, outcome]. */
const ledgerOf = async (orderId: string) => (await gateway.ledger(orderId)).map((e) => [e.kind, e.idempotencyKey, e.outcome]);

const retried = () => payment.metric('troupe_messages_retried_total', { queue: 'payment.order.events', type: 'OrderPlaced' });

/** Places an order the way the order service would, and waits until it is paid. */
async function aCapturedOrder() {
  const placed = anOrderPlaced('tok_visa');
  await payment.broker.publish('order.events', placed);
  const [completed] = await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
  return { placed, paymentId: completed!.body.data.paymentId };
}

describe('on OrderPlaced', () => {
  it('when the card is approved, then one CAPTURED payment is stored and PaymentCompleted carries the items and the customer', async () => {
    const placed = anOrderPlaced('tok_visa');

    await payment.broker.publish('order.events', placed);

    const [completed] = await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expectEnvelope(completed!, 'PaymentCompleted', placed.orderId);
    const rows = await paymentsOf(placed.orderId);
    expect(rows).toEqual([expect.objectContaining({ status: 'CAPTURED', amount_cents: 3000, currency: 'USD', decline_reason: null })]);
    expect(completed!.body.data).toEqual({
      paymentId: rows[0]!.id,
      amount: placed.data.total,
      customer: placed.data.customer,
      items: placed.data.items,
    });
    expect(payment.published(placed.orderId, 'PaymentFailed')).toHaveLength(0);
    expect(await ledgerOf(placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
  });

  it('when the card is declined, then a DECLINED payment is stored, PaymentFailed is published, and nothing is retried', async () => {
    const retriedBefore = await retried();
    const placed = anOrderPlaced('tok_declined');

    await payment.broker.publish('order.events', placed);

    const [failed] = await payment.awaitPublished(placed.orderId, 'PaymentFailed');
    expectEnvelope(failed!, 'PaymentFailed', placed.orderId);
    expect(failed!.body.data).toEqual({ amount: placed.data.total, customer: placed.data.customer, reason: 'card declined' });
    expect(await paymentsOf(placed.orderId)).toEqual([expect.objectContaining({ status: 'DECLINED', decline_reason: 'card declined' })]);
    expect(payment.published(placed.orderId, 'PaymentCompleted')).toHaveLength(0);
    // A decline is an answer, not a failure: the message was handled once and never retried.
    expect(await retried()).toBe(retriedBefore);
    expect(await payment.isDeadLettered(placed.id)).toBe(false);
    expect(await ledgerOf(placed.orderId)).toEqual([['charge', placed.orderId, 'declined']]);
  });

  it('when the payment token is unknown, then the payment is declined as such', async () => {
    const placed = anOrderPlaced('tok_stolen');

    await payment.broker.publish('order.events', placed);

    const [failed] = await payment.awaitPublished(placed.orderId, 'PaymentFailed');
    expect(failed!.body.data.reason).toBe('unknown payment token');
    expect(await paymentsOf(placed.orderId)).toEqual([expect.objectContaining({ status: 'DECLINED' })]);
  });

  it('when the gateway fails twice then answers, then after two retries there is one CAPTURED payment and one PaymentCompleted', async () => {
    const retriedBefore = await retried();
    const placed = anOrderPlaced('tok_flaky');

    await payment.broker.publish('order.events', placed);

    const [completed] = await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expectEnvelope(completed!, 'PaymentCompleted', placed.orderId);
    // Three calls under one key, two of them 503: one charge in the gateway's ledger.
    expect(await ledgerOf(placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
    expect(await paymentsOf(placed.orderId)).toEqual([expect.objectContaining({ id: completed!.body.data.paymentId, status: 'CAPTURED' })]);
    expect(await retried()).toBe(retriedBefore + 2);
    // Retries wait on this consumer's own queues, never the DLQ, and leave nothing behind.
    expect(await payment.isDeadLettered(placed.id)).toBe(false);
    expect(await payment.broker.depth('payment.order.events')).toBe(0);
    expect(payment.published(placed.orderId, 'PaymentCompleted')).toHaveLength(1);
  });

  it('when the same OrderPlaced is delivered twice, then the customer is charged once', async () => {
    const duplicatesBefore = await payment.metric('troupe_inbox_duplicates_total', { queue: 'payment.order.events' });
    const placed = anOrderPlaced('tok_visa');

    await payment.broker.publish('order.events', placed);
    await payment.broker.publish('order.events', placed);

    await eventually(
      async () => (await payment.metric('troupe_inbox_duplicates_total', { queue: 'payment.order.events' })) === duplicatesBefore + 1,
      { what: 'the second delivery counted as a duplicate' },
    );
    expect(await paymentsOf(placed.orderId)).toHaveLength(1);
    await payment.awaitPublished(placed.orderId, 'PaymentCompleted', 1);
    expect(await ledgerOf(placed.orderId)).toHaveLength(1);
  });

  it('when the gateway charged but the payment was never recorded (a crash before COMMIT), then the redelivered order charges nothing new', async () => {
    const placed = anOrderPlaced('tok_visa');
    // The call the crashed attempt made: the gateway charged under the order id, payment kept nothing.
    const { paymentMethod, total } = placed.data;
    const first = await fetch(`${gateway.url}/charges`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'Idempotency-Key': placed.orderId },
      body: JSON.stringify({ orderId: placed.orderId, token: paymentMethod.token, ...total }),
    });
    const charged = (await first.json()) as { id: string };

    await payment.broker.publish('order.events', placed);

    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(await paymentsOf(placed.orderId)).toEqual([expect.objectContaining({ status: 'CAPTURED' })]);
    expect(await gateway.ledger(placed.orderId)).toEqual([expect.objectContaining({ id: charged.id, kind: 'charge', outcome: 'approved' })]);
  });

  it('when the gateway cannot be reached, then OrderPlaced waits without spending attempts, and is charged once it is back', async () => {
    const retriedBefore = await retried();
    const outages = () => payment.metric('troupe_dependency_outages_total', { dependency: 'gateway' });
    const outagesBefore = await outages();
    await gateway.stop();
    const placed = anOrderPlaced('tok_visa');
    try {
      await payment.broker.publish('order.events', placed);
      await eventually(async () => (await outages()) === outagesBefore + 1, { what: 'the gateway outage noticed' });
      expect(await payment.metric('troupe_dependency_up', { dependency: 'gateway' })).toBe(0);
    } finally {
      await gateway.start();
    }

    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');
    expect(await retried()).toBe(retriedBefore);
    expect(await payment.isDeadLettered(placed.id)).toBe(false);
    expect(await ledgerOf(placed.orderId)).toEqual([['charge', placed.orderId, 'approved']]);
  });

  it('when the same order arrives again as another event (new event id), then it is not charged again', async () => {
    const placed = anOrderPlaced('tok_visa');
    await payment.broker.publish('order.events', placed);
    await payment.awaitPublished(placed.orderId, 'PaymentCompleted');

    const processed = () => payment.metric('troupe_messages_consumed_total', { queue: 'payment.order.events', type: 'OrderPlaced', outcome: 'processed' });
    const [processedBefore, retriedBefore] = [await processed(), await retried()];
    const again = { ...placed, id: randomUUID() };
    await payment.broker.publish('order.events', again);
    await eventually(async () => (await processed()) === processedBefore + 1, { what: 'the second event processed (not failed)' });
    await payment.settled();

    expect(await retried()).toBe(retriedBefore);
    expect(await paymentsOf(placed.orderId)).toHaveLength(1);
    expect(payment.published(placed.orderId, 'PaymentCompleted')).toHaveLength(1);
  });

  it('when an OrderPlaced breaks its contract, then it is dead-lettered at once and no payment is made', async () => {
    const bad = anEvent('OrderPlaced', { data: { total: { amountCents: -1, currency: 'USD' } } });

    await payment.broker.publish('order.events', bad);

    const dead = await payment.awaitDeadLetter(bad.id);
    expect(dead.properties.headers).toMatchObject({ [HEADER.deadLetterReason]: 'poison', [HEADER.originalQueue]: 'payment.order.events' });
    expect(await paymentsOf(bad.orderId)).toHaveLength(0);
  });
});

describe('on InventoryRejected', () => {
  it('when the stock of a paid order is rejected, then the payment is REFUNDED and PaymentRefunded is published', async () => {
    const { placed, paymentId } = await aCapturedOrder();
    const rejected = anEvent('InventoryRejected', { orderId: placed.orderId, data: { customer: placed.data.customer } });

    await payment.broker.publish('inventory.events', rejected);

    const [refunded] = await payment.awaitPublished(placed.orderId, 'PaymentRefunded');
    expectEnvelope(refunded!, 'PaymentRefunded', placed.orderId);
    expect(refunded!.body.data).toEqual({
      paymentId,
      amount: placed.data.total,
      customer: placed.data.customer,
      reason: rejected.data.reason,
    });
    expect(await paymentsOf(placed.orderId)).toEqual([
      expect.objectContaining({ id: paymentId, status: 'REFUNDED', refund_reason: 'not enough stock', refunded_at: expect.any(Date) }),
    ]);
    expect(await ledgerOf(placed.orderId)).toEqual([
      ['charge', placed.orderId, 'approved'],
      ['refund', `refund:${placed.orderId}`, 'refunded'],
    ]);
  });

  it('when the rejection arrives twice (redelivered, and republished under a new id), then the customer is refunded once', async () => {
    const { placed } = await aCapturedOrder();
    const rejected = anEvent('InventoryRejected', { orderId: placed.orderId });
    const republished = { ...rejected, id: randomUUID() };
    const duplicatesBefore = await payment.metric('troupe_inbox_duplicates_total', { queue: 'payment.inventory.events' });

    await payment.broker.publish('inventory.events', rejected);
    await payment.broker.publish('inventory.events', rejected);
    await payment.broker.publish('inventory.events', republished);

    await eventually(
      async () =>
        (await payment.metric('troupe_inbox_duplicates_total', { queue: 'payment.inventory.events' })) === duplicatesBefore + 1 &&
        (await payment.running.pool.query('SELECT 1 FROM troupe_inbox WHERE event_id = $1', [republished.id])).rowCount === 1,
      { what: 'all three deliveries handled' },
    );
    await payment.awaitPublished(placed.orderId, 'PaymentRefunded', 1);
    expect(await paymentsOf(placed.orderId)).toEqual([expect.objectContaining({ status: 'REFUNDED' })]);
    expect((await ledgerOf(placed.orderId)).filter(([kind]) => kind === 'refund')).toHaveLength(1);
  });

  it('when stock is rejected for an order that was never paid, then the event is dead-lettered as permanent, without retries', async () => {
    const rejected = anEvent('InventoryRejected');

    await payment.broker.publish('inventory.events', rejected);

    const dead = await payment.awaitDeadLetter(rejected.id);
    expect(dead.properties.headers).toMatchObject({ [HEADER.deadLetterReason]: 'permanent', [HEADER.attempt]: 1 });
    expect(payment.published(rejected.orderId, 'PaymentRefunded')).toHaveLength(0);
  });
});

describe('health and metrics', () => {
  it('when the service is connected, then /healthz and /readyz are 200 and /readyz lists both subscriptions consuming and the gateway up', async () => {
    expect((await fetch(`${payment.baseUrl}/healthz`)).status).toBe(200);
    await expectReady(payment.baseUrl, ['payment.order.events', 'payment.inventory.events'], ['gateway']);
  });

  it('when events were published, then /metrics counts them by exchange and type', async () => {
    await aCapturedOrder();
    expect(await payment.metric('troupe_messages_published_total', { exchange: 'payment.events', type: 'PaymentCompleted' })).toBeGreaterThanOrEqual(1);
  });
});

describe('the dead-letter admin API', () => {
  const admin = (path: string, init: RequestInit = {}, token: string | null = ADMIN_TOKEN) =>
    fetch(`${payment.baseUrl}/admin/dlq${path}`, {
      ...init,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    });

  it('when called without the token, or with a wrong one, then 401 and nothing is shown', async () => {
    for (const token of [null, 'wrong-token-but-long-enough']) {
      const response = await admin('', {}, token);
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({ error: 'admin token required' });
    }
  });

  it('when a poison message is dead-lettered, then the API lists it with its reason and purges it by id', async () => {
    const id = randomUUID();
    await payment.broker.publish('order.events', Buffer.from('not json at all'), { messageId: id });

    const listed = await eventually(async () => {
      const body = (await (await admin('')).json()) as { messages: { id: string; reason: string; queue: string }[] };
      return body.messages.find((m) => m.id === id);
    }, { what: 'the poison message listed' });
    expect(listed).toMatchObject({ reason: 'poison', queue: 'payment.order.events' });

    const purged = await admin('/purge', { method: 'POST', body: JSON.stringify({ ids: [id] }) });
    expect(await purged.json()).toEqual({ purged: [id] });
    const after = (await (await admin('')).json()) as { messages: { id: string }[] };
    expect(after.messages.map((m) => m.id)).not.toContain(id);
  });

  it('when two poison messages fail alike, then GET /admin/dlq/groups shows them as one group with its sample, and a purge by group deletes both', async () => {
    const ids: string[] = [randomUUID(), randomUUID()];
    for (const [i, id] of ids.entries()) await payment.broker.publish('order.events', Buffer.from(`{"order": ${i}0`), { messageId: id, type: 'OrderPlaced' });

    const group = await eventually(async () => {
      const body = deadLetterGroupListSchema.parse(await (await admin('/groups')).json());
      return body.groups.find((g) => g.count === 2 && ids.includes(g.sample.id));
    }, { what: 'the two poison messages in one group' });
    expect(group).toMatchObject({ service: 'payment', type: 'OrderPlaced', errorClass: 'poison', message: 'body is not valid JSON (at character <n>)', replayCount: 0, sample: { id: ids[1], body: '{"order": 10' } });

    const purged = await admin('/purge', { method: 'POST', body: JSON.stringify({ group: group.id }) });
    expect(((await purged.json()) as { purged: string[] }).purged.sort()).toEqual([...ids].sort());
    const after = deadLetterGroupListSchema.parse(await (await admin('/groups')).json());
    expect(after.groups.map((g) => g.id)).not.toContain(group.id);
  });

  it("when messages about an order are dead-lettered, then GET /dead-letters/count?orderId= counts that order's alone (poison included), and purged they count no more", async () => {
    const count = async (query: string) => {
      const response = await fetch(`${payment.baseUrl}/dead-letters/count${query}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      return { status: response.status, body: (await response.json()) as { count?: number; error?: string } };
    };
    const [a, b] = [randomUUID(), randomUUID()];
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    // Not JSON: the order's id is found in the body all the same.
    for (const [i, orderId] of [a, a, b].entries()) await payment.broker.publish('order.events', Buffer.from(`{"orderId":"${orderId}", broken`), { messageId: ids[i] });
    await eventually(async () => (await count(`?orderId=${a}`)).body.count === 2 && (await count(`?orderId=${b}`)).body.count === 1, { what: 'the three letters counted per order' });
    expect((await count('')).body.count).toBeGreaterThanOrEqual(3);
    expect((await count(`?orderId=${randomUUID()}`)).body).toEqual({ count: 0 });

    await admin('/purge', { method: 'POST', body: JSON.stringify({ ids: ids.slice(0, 2) }) });
    expect((await count(`?orderId=${a}`)).body).toEqual({ count: 0 });
    expect((await count(`?orderId=${b}`)).body).toEqual({ count: 1 });
    await admin('/purge', { method: 'POST', body: JSON.stringify({ ids: ids.slice(2) }) });

    for (const query of ['?orderId=not-a-uuid', '?order=x']) {
      const refused = await count(query);
      expect(refused.status, query).toBe(400);
      expect(refused.body.error, query).toMatch(/order/);
    }
  });

  it('when a group id or a group limit is malformed, then 400 naming the field', async () => {
    const badGroup = await admin('/replay', { method: 'POST', body: JSON.stringify({ group: 'not-a-fingerprint' }) });
    expect(badGroup.status).toBe(400);
    expect(await badGroup.json()).toMatchObject({ error: expect.stringContaining('group') });
    const badLimit = await admin('/groups?limit=0');
    expect(badLimit.status).toBe(400);
    expect(await badLimit.json()).toMatchObject({ error: expect.stringContaining('limit') });
  });

  it('when the selection is malformed, then 400 naming the problem', async () => {
    const response = await admin('/replay', { method: 'POST', body: JSON.stringify({ everything: 'please' }) });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: expect.stringContaining('invalid request') });
  });
});

describe('pruning the inbox', () => {
  const inboxRow = async (eventId: string) =>
    (await payment.running.pool.query('SELECT 1 FROM troupe_inbox WHERE event_id = $1', [eventId])).rowCount;

  it('when an event was processed longer ago than INBOX_RETENTION_SECONDS, then only its row is pruned; an event redelivered within the retention is still a duplicate, and one redelivered after it is still charged once', async () => {
    const { placed: old } = await aCapturedOrder();
    const { placed: recent } = await aCapturedOrder();
    const retention = payment.running.config.INBOX_RETENTION_SECONDS;
    await payment.running.pool.query(`UPDATE troupe_inbox SET processed_at = now() - make_interval(secs => $2 + 60) WHERE event_id = $1`, [
      old.id,
      retention,
    ]);

    const result = await pruneRound(payment.running.pool, [inboxPruning(retention)], 1000);

    expect(result).toEqual({ ran: true, deleted: { troupe_inbox: { rows: 1, batches: 1 } } });
    expect(await inboxRow(old.id)).toBe(0);
    expect(await inboxRow(recent.id)).toBe(1);

    const duplicates = () => payment.metric('troupe_inbox_duplicates_total', { queue: 'payment.order.events' });
    const duplicatesBefore = await duplicates();
    await payment.broker.publish('order.events', recent);
    await eventually(async () => (await duplicates()) === duplicatesBefore + 1, { what: 'the redelivery within the retention counted as a duplicate' });

    // Past the retention the inbox no longer knows the event; the payment's unique order still does.
    await payment.broker.publish('order.events', old);
    await eventually(async () => (await inboxRow(old.id)) === 1, { what: 'the late redelivery processed' });
    expect(await paymentsOf(old.orderId)).toHaveLength(1);
    expect(await paymentsOf(recent.orderId)).toHaveLength(1);
    await payment.awaitPublished(old.orderId, 'PaymentCompleted', 1);
  });
});
