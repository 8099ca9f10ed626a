import { HEADER } from '@troupe/contracts';
import { anEvent, eventually } from '@troupe/testing';
import type { Histogram } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { DependencyError, PermanentError } from '../src/errors';
import { behaviour, broker, calls, deadCount, deadLetters, effects, inboxRows, MAX_MESSAGE_BYTES, messaging, metric, outboxRows, pool, registry, usePaymentService } from './payment-service';

// The consumer's side, as the payment service: handled once, retried, dead-lettered, handed back.
usePaymentService();

/** How many transactions the consumer ran so far, and the messages they held in all. */
async function batchTotals(): Promise<{ count: number; sum: number }> {
  const values = (await (registry.getSingleMetric('troupe_consumer_batch_messages') as Histogram | undefined)?.get())?.values ?? [];
  const total = (name: string) => values.find((v) => v.metricName === `troupe_consumer_batch_messages_${name}`)?.value ?? 0;
  return { count: total('count'), sum: total('sum') };
}

describe('messaging: consuming', () => {
  it('when an event arrives, then its effect and its follow-up event are committed and published once', async () => {
    const event = anEvent('OrderPlaced');
    await broker.publish('order.events', event);
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'PaymentCompleted published' });
    expect(await effects(event.orderId)).toBe(1);
    const [published] = await broker.drain('completed');
    const body = JSON.parse(published!.content.toString());
    expect(body).toMatchObject({ type: 'PaymentCompleted', orderId: event.orderId, version: 1 });
    expect(published!.properties).toMatchObject({ messageId: body.id, type: 'PaymentCompleted', contentType: 'application/json', deliveryMode: 2 });
    // The row goes once the broker's confirm is in, which can come after the delivery.
    await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, { what: 'its row deleted' });
  });

  it('when the same event is delivered three times, then it has one effect and two duplicates are counted', async () => {
    const event = anEvent('OrderPlaced');
    const before = await metric('troupe_inbox_duplicates_total', { queue: 'payment.order.events' });
    for (let i = 0; i < 3; i++) await broker.publish('order.events', event);
    await eventually(async () => (await metric('troupe_inbox_duplicates_total', { queue: 'payment.order.events' })) - before === 2, {
      what: 'two duplicates counted',
    });
    expect(await effects(event.orderId)).toBe(1);
    expect(await broker.depth('completed')).toBe(1);
  });

  it('when a message is not JSON, then it goes to the DLQ at once with the reason, and the next message is handled', async () => {
    await broker.publish('order.events', Buffer.from('{not json'), { messageId: 'poison-1' });
    const good = anEvent('OrderPlaced');
    await broker.publish('order.events', good);
    await eventually(async () => (await effects(good.orderId)) === 1, { what: 'the next message handled' });
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'poison among the dead letters' });
    expect(dead!.content.toString()).toBe('{not json');
    expect(dead!.properties.headers).toMatchObject({
      [HEADER.deadLetterReason]: 'poison',
      [HEADER.attempt]: 1,
      [HEADER.originalQueue]: 'payment.order.events',
      [HEADER.originalExchange]: 'order.events',
    });
    expect(String(dead!.properties.headers?.[HEADER.error])).toMatch(/not valid JSON/);
  });

  it('when a message is over the size limit, then it is dead-lettered unread with its size as the reason, and the next message is handled', async () => {
    // A valid event, padded: handled had it been read. At the limit, it is.
    const big = anEvent('OrderPlaced');
    const body = JSON.stringify(big);
    await broker.publish('order.events', Buffer.from(body.padEnd(MAX_MESSAGE_BYTES + 1)), { messageId: big.id });
    const atLimit = anEvent('OrderPlaced');
    await broker.publish('order.events', Buffer.from(JSON.stringify(atLimit).padEnd(MAX_MESSAGE_BYTES)), { messageId: atLimit.id });
    await eventually(async () => (await effects(atLimit.orderId)) === 1, { what: 'the message at the limit handled' });
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'the oversized message among the dead letters' });
    expect(dead!.content.length).toBe(MAX_MESSAGE_BYTES + 1);
    expect(dead!.properties.headers).toMatchObject({ [HEADER.deadLetterReason]: 'poison', [HEADER.originalQueue]: 'payment.order.events' });
    expect(String(dead!.properties.headers?.[HEADER.error])).toBe(`body of ${MAX_MESSAGE_BYTES + 1} bytes is over the ${MAX_MESSAGE_BYTES}-byte limit; not read`);
    expect(await effects(big.orderId)).toBe(0);
  });

  it('when a message does not match its contract, then it is dead-lettered naming the field', async () => {
    const bad = anEvent('OrderPlaced', { data: { items: [] } });
    await broker.publish('order.events', bad);
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'invalid event among the dead letters' });
    expect(String(dead!.properties.headers?.[HEADER.error])).toMatch(/OrderPlaced\.data: items/);
    expect(await effects(bad.orderId)).toBe(0);
  });

  it('when the handler fails twice then succeeds, then it is retried on its own queue only and has one effect', async () => {
    const event = anEvent('OrderPlaced');
    behaviour.set(event.orderId, (attempt) => {
      if (attempt < 3) throw new Error(`transient failure ${attempt}`);
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'success on the third attempt' });
    expect(await metric('troupe_messages_retried_total', { queue: 'payment.order.events' })).toBeGreaterThanOrEqual(2);
    // The other subscriber of order.events got the event once: retries never went back to the exchange.
    expect(await broker.depth('observer')).toBe(1);
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'one PaymentCompleted' });
    // The broker forgets the failures once the retry succeeds; the record of failed attempts keeps them.
    const failed = await messaging.failedAttempts.of(event.orderId);
    expect(failed).toEqual([1, 2].map((attempt) => ({
      queue: 'payment.order.events',
      eventId: event.id,
      eventType: 'OrderPlaced',
      orderId: event.orderId,
      replay: 0,
      attempt,
      outcome: 'retried',
      retryDelayMs: 50 * 2 ** (attempt - 1),
      errorName: 'Error',
      error: `transient failure ${attempt}`,
      failedAt: expect.any(String),
    })));
    expect(Date.parse(failed[1]!.failedAt)).toBeGreaterThan(Date.parse(failed[0]!.failedAt));
  });

  it('when the handler keeps failing, then after maxAttempts the message is in the DLQ with attempts, error and times', async () => {
    const event = anEvent('OrderPlaced');
    behaviour.set(event.orderId, (attempt) => {
      throw new Error(`still broken (${attempt})`);
    });
    await broker.publish('order.events', event, { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'exhausted message among the dead letters' });
    const headers = dead!.properties.headers ?? {};
    expect(headers).toMatchObject({
      [HEADER.deadLetterReason]: 'exhausted',
      [HEADER.attempt]: 3,
      [HEADER.originalExchange]: 'order.events',
      [HEADER.originalQueue]: 'payment.order.events',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    });
    expect(String(headers[HEADER.error])).toMatch(/still broken \(3\)/);
    expect((await messaging.failedAttempts.of(event.orderId)).map((f) => [f.attempt, f.outcome, f.deadLetterReason ?? null, f.error])).toEqual([
      [1, 'retried', null, 'still broken (1)'],
      [2, 'retried', null, 'still broken (2)'],
      [3, 'dead-lettered', 'exhausted', 'still broken (3)'],
    ]);
    expect(Date.parse(String(headers[HEADER.lastFailureAt]))).toBeGreaterThan(Date.parse(String(headers[HEADER.firstFailureAt])));
    expect(await effects(event.orderId)).toBe(0);
  });

  it('when the handler throws a PermanentError, then the message is dead-lettered without a retry', async () => {
    const event = anEvent('OrderPlaced');
    let calls = 0;
    behaviour.set(event.orderId, () => {
      calls += 1;
      throw new PermanentError('no such customer');
    });
    await broker.publish('order.events', event);
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'permanent failure among the dead letters' });
    expect(dead!.properties.headers).toMatchObject({ [HEADER.deadLetterReason]: 'permanent', [HEADER.attempt]: 1 });
    expect(calls).toBe(1);
    expect(await messaging.failedAttempts.of(event.orderId)).toMatchObject([{ attempt: 1, outcome: 'dead-lettered', deadLetterReason: 'permanent', errorName: 'PermanentError', error: 'no such customer' }]);
  });

  it('when a burst is handled in one transaction and one handler fails, then the others commit once and only it is retried', async () => {
    const events = Array.from({ length: 8 }, () => anEvent('OrderPlaced'));
    const flaky = events[3]!;
    let flakyCalls = 0;
    behaviour.set(flaky.orderId, (attempt) => {
      flakyCalls += 1;
      if (attempt === 1) throw new Error('transient failure in a batch');
    });
    const before = await batchTotals();
    await Promise.all(events.map((event) => broker.publish('order.events', event)));
    await eventually(async () => (await broker.depth('completed')) === 8, { what: 'eight PaymentCompleted' });
    for (const event of events) expect(await effects(event.orderId)).toBe(1);
    // The failing handler ran once per delivery, and every other handler once: a neighbour's
    // failure never runs a handler (and the calls it makes outside the database) again.
    expect(flakyCalls).toBe(2);
    expect(events.map((event) => calls.get(event.orderId))).toEqual(events.map((event) => (event === flaky ? 2 : 1)));
    const completed = (await broker.drain('completed')).map((m) => JSON.parse(m.content.toString()).orderId);
    expect(new Set(completed)).toEqual(new Set(events.map((e) => e.orderId)));
    // At least one transaction held several messages (else this test proves nothing about batches).
    const after = await batchTotals();
    expect(after.sum - before.sum).toBeGreaterThan(after.count - before.count);
  });

  it('when a message alone in its transaction writes, publishes and registers after-commit work, then throws, then none of it happens, and its retry does it all once', async () => {
    // A job alone in its transaction: what it did must be undone with its failure, and done once by its retry.
    const event = anEvent('OrderPlaced');
    let committed = 0;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    behaviour.set(event.orderId, async (attempt, _db, ctx) => {
      ctx.onCommit(() => (committed += 1));
      if (attempt === 1) throw new Error('fails after its effects');
      await released; // the retry waits while the first attempt's leftovers are looked for
    });
    const before = await batchTotals();
    await broker.publish('order.events', event);
    // The failure is recorded once its transaction is over; the retry cannot commit before release().
    const failed = await eventually(async () => {
      const attempts = await messaging.failedAttempts.of(event.orderId);
      return attempts.length > 0 && attempts;
    }, { what: 'the first attempt failed' });
    expect(failed.map((f) => [f.attempt, f.outcome, f.error])).toEqual([[1, 'retried', 'fails after its effects']]);
    expect(await inboxRows(event.id)).toBe(0);
    expect(await effects(event.orderId)).toBe(0);
    expect(await outboxRows(event.orderId)).toBe(0);
    expect(await broker.depth('completed')).toBe(0);
    expect(committed).toBe(0);
    await eventually(async () => calls.get(event.orderId) === 2, { what: 'the retry under way' });
    release();
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'one PaymentCompleted' });
    expect(await effects(event.orderId)).toBe(1);
    expect(await inboxRows(event.id)).toBe(1);
    expect(committed).toBe(1);
    expect(calls.get(event.orderId)).toBe(2);
    expect((await broker.drain('completed')).map((m) => JSON.parse(m.content.toString()).orderId)).toEqual([event.orderId]);
    // Both deliveries were alone in their transaction (else this test proves nothing about it).
    const after = await batchTotals();
    expect(after.count - before.count).toBeGreaterThanOrEqual(2);
    expect(after.sum - before.sum).toBe(after.count - before.count);
  });

  it("when a producer's message claims its 999th attempt and a huge replay count, then it is taken as a first attempt: retried, not dead-lettered", async () => {
    const event = anEvent('OrderPlaced');
    behaviour.set(event.orderId, (attempt) => {
      if (attempt === 1) throw new Error('first try fails');
    });
    await broker.publish('order.events', event, { headers: { [HEADER.attempt]: 999, [HEADER.replayCount]: 2 ** 40, [HEADER.handBacks]: 500 } });
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'handled on its second attempt' });
    expect(await deadCount()).toBe(0);
    expect((await messaging.failedAttempts.of(event.orderId)).map((f) => [f.attempt, f.replay, f.outcome])).toEqual([[1, 0, 'retried']]);
  });

  it('when a handler swallows a failed statement, then its transaction commits nothing and the message is not taken as handled', async () => {
    const event = anEvent('OrderPlaced');
    behaviour.set(event.orderId, async (_attempt, db) => {
      await db.query('SELECT 1 / 0').catch(() => undefined);
    });
    await broker.publish('order.events', event);
    const [dead] = await eventually(async () => (await deadCount()) === 1 && deadLetters(), { what: 'dead-lettered after its attempts' });
    expect(dead!.properties.headers).toMatchObject({ [HEADER.deadLetterReason]: 'exhausted', [HEADER.attempt]: 3 });
    expect(await effects(event.orderId)).toBe(0);
    expect(await broker.depth('completed')).toBe(0);
  });

  it('when an event type this service does not handle arrives, then it is acked and counted as ignored', async () => {
    const before = await metric('troupe_messages_consumed_total', { queue: 'payment.order.events', outcome: 'ignored' });
    await broker.publish('order.events', { ...anEvent('OrderPlaced'), type: 'OrderShipped' });
    await eventually(
      async () => (await metric('troupe_messages_consumed_total', { queue: 'payment.order.events', outcome: 'ignored' })) - before === 1,
      { what: 'ignored counted' },
    );
    expect(await broker.depth('payment.order.events')).toBe(0);
    expect(await deadCount()).toBe(0);
  });

  it('when a dependency is reported away 25 times in a row for one message, then it is handled once at last, with no attempt spent and nothing dead-lettered', async () => {
    // Every hand-back used to be a nack, which RabbitMQ 4 counts towards the queue's delivery
    // limit (10 here): the message would have been dead-lettered by the broker at the tenth.
    const event = anEvent('OrderPlaced');
    let reported = 0;
    behaviour.set(event.orderId, () => {
      if (reported < 25) {
        reported += 1;
        throw new DependencyError('card-api', new Error('connect ECONNREFUSED'));
      }
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'handled after 25 hand-backs', timeoutMs: 25_000 });
    expect(reported).toBe(25);
    expect(await deadCount()).toBe(0);
    expect(await messaging.failedAttempts.of(event.orderId)).toEqual([]);
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'one PaymentCompleted' });
  }, 30_000);
});
