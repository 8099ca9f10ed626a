import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { createTestDatabase, createTestVhost, anEvent, eventually, TestBroker, type TestDatabase, type TestVhost } from '@troupe/testing';
import pg from 'pg';
import { pino } from 'pino';
import { Registry, type Histogram } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { HEADER } from '@troupe/contracts';
import { MIGRATIONS_DIR, Messaging, subscribe, type Handler } from '../src';
import { DependencyError, PermanentError } from '../src/errors';
import { runner } from 'node-pg-migrate';
import { context as otelContext, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

// The library on its own, as the "payment" service, against the real broker and database:
// a handler that records each OrderPlaced it is given, and can be told to fail.
let vhost: TestVhost;
let db: TestDatabase;
let pool: pg.Pool;
let broker: TestBroker;
let messaging: Messaging;
let registry: Registry;
const behaviour = new Map<string, (attempt: number, db: pg.PoolClient) => void | Promise<void>>();
/** How many times each order's handler was called: a call stands for a call outside the database. */
const calls = new Map<string, number>();
const SWEEP_AFTER_MS = 1500;
const MAX_MESSAGE_BYTES = 16_384;

// The behaviour runs last: a handler that fails after writing and publishing leaves neither.
const onOrderPlaced: Handler<'OrderPlaced'> = async (event, ctx) => {
  calls.set(event.orderId, (calls.get(event.orderId) ?? 0) + 1);
  await ctx.db.query('INSERT INTO effects (order_id, event_id) VALUES ($1, $2)', [event.orderId, event.id]);
  ctx.publish('PaymentCompleted', event.orderId, {
    paymentId: randomUUID(),
    amount: event.data.total,
    customer: event.data.customer,
    items: event.data.items,
  });
  await behaviour.get(event.orderId)?.(ctx.attempt, ctx.db);
};

const effects = async (orderId: string) =>
  Number((await pool.query('SELECT count(*) FROM effects WHERE order_id = $1', [orderId])).rows[0].count);
/** The dead letters the keeper moved into the database, oldest first, as the broker delivered them. */
const deadLetters = async () =>
  (await pool.query<{ properties: { messageId?: string; headers?: Record<string, unknown> }; body: Buffer }>(
    'SELECT properties, body FROM troupe_dead_letters ORDER BY dead_lettered_at, id',
  )).rows.map((row) => ({ properties: row.properties, content: row.body }));
const deadCount = async () => (await deadLetters()).length;
const metric = async (name: string, labels: Record<string, string>) => {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

beforeAll(async () => {
  const access = inject('access');
  vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'messaging');
  db = await createTestDatabase(inject('databaseUrl'), 'messaging', access.payment);
  await runner({ databaseUrl: db.url, dir: MIGRATIONS_DIR, direction: 'up', migrationsTable: 'pgmigrations', log: () => undefined });
  // As the services create theirs (@troupe/platform): pipelined, so BEGIN and COMMIT travel with
  // the statements next to them.
  pool = new pg.Pool({ connectionString: db.url, max: 5, pipeline: true });
  // As the platform's pool does: an idle client whose connection the server ends reports it here,
  // not as an uncaught error of the whole run.
  pool.on('error', () => undefined);
  await pool.query('CREATE TABLE effects (order_id uuid, event_id uuid)');
  registry = new Registry();
  messaging = new Messaging({
    service: 'payment',
    url: vhost.urlFor('payment'),
    pool,
    logger: pino({ level: 'silent' }),
    registry,
    subscriptions: [subscribe('order.events', { OrderPlaced: onOrderPlaced })],
    retry: { maxAttempts: 3, baseDelayMs: 50 },
    // An outside API whose probe always passes: a handler reporting it unavailable is handed back
    // and tried again after the first probe, as often as it keeps reporting it.
    dependencies: [{ name: 'card-api', scope: 'reporting', probe: async () => undefined }],
    outboxSweepAfterMs: SWEEP_AFTER_MS,
    maxMessageBytes: MAX_MESSAGE_BYTES,
    onFatal: (error) => {
      throw error;
    },
  });
  await messaging.start();
  await messaging.ready();
  broker = await TestBroker.connect(vhost.url);
  // A second subscriber of the same exchange: it must see each event exactly once, retries or not.
  await broker.channel.assertQueue('observer', { durable: false, exclusive: true });
  await broker.channel.bindQueue('observer', 'order.events', '');
  await broker.channel.assertQueue('completed', { durable: false, exclusive: true });
  await broker.channel.bindQueue('completed', 'payment.events', '');
});

afterAll(async () => {
  await messaging?.stop();
  await broker?.close();
  await pool?.end();
  await db?.drop();
  await vhost?.delete();
});

beforeEach(async () => {
  await pool.query('DELETE FROM troupe_dead_letters');
  await broker.drain('observer');
  await broker.drain('completed');
});

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
    const batches = async () => (await (registry.getSingleMetric('troupe_consumer_batch_messages') as Histogram | undefined)?.get())?.values ?? [];
    const sumBefore = (await batches()).find((v) => v.metricName === 'troupe_consumer_batch_messages_sum')?.value ?? 0;
    const countBefore = (await batches()).find((v) => v.metricName === 'troupe_consumer_batch_messages_count')?.value ?? 0;
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
    const sum = ((await batches()).find((v) => v.metricName === 'troupe_consumer_batch_messages_sum')?.value ?? 0) - sumBefore;
    const count = ((await batches()).find((v) => v.metricName === 'troupe_consumer_batch_messages_count')?.value ?? 0) - countBefore;
    expect(sum).toBeGreaterThan(count);
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

describe('messaging: the outbox', () => {
  it('when a transaction commits events, then they are published in order and the outbox empties', async () => {
    const orderId = randomUUID();
    await messaging.runUnitOfWork(async (uow) => {
      for (const reason of ['first', 'second', 'third']) {
        uow.publish('PaymentFailed', orderId, { amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason });
      }
    });
    await eventually(async () => (await broker.depth('completed')) === 3, { what: 'three events published' });
    const reasons = (await broker.drain('completed')).map((m) => JSON.parse(m.content.toString()).data.reason);
    expect(reasons).toEqual(['first', 'second', 'third']);
  });

  it('when a transaction rolls back, then none of its events is published', async () => {
    const orderId = randomUUID();
    await expect(
      messaging.runUnitOfWork(async (uow) => {
        uow.publish('PaymentFailed', orderId, { amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason: 'x' });
        throw new Error('business rule said no');
      }),
    ).rejects.toThrow('business rule said no');
    // A later event of the same service goes out; the rolled-back one never did.
    const marker = randomUUID();
    await messaging.runUnitOfWork(async (uow) => {
      uow.publish('PaymentFailed', marker, { amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason: 'marker' });
    });
    await eventually(async () => (await broker.depth('completed')) >= 1, { what: 'marker published' });
    const orderIds = (await broker.drain('completed')).map((m) => JSON.parse(m.content.toString()).orderId);
    expect(orderIds).toEqual([marker]);
  });

  /** A row as another process would have committed it, `age` ago. */
  const foreignRow = async (age: string) => {
    const orderId = randomUUID();
    const id = randomUUID();
    const body = JSON.stringify({
      id, type: 'PaymentFailed', version: 1, occurredAt: new Date().toISOString(), orderId,
      data: { amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason: 'left behind' },
    });
    await pool.query(
      `INSERT INTO troupe_outbox (event_id, exchange, type, order_id, body, created_at)
       VALUES ($1, 'payment.events', 'PaymentFailed', $2, $3, now() - $4::interval)`,
      [id, orderId, body, age],
    );
    return id;
  };

  it('when a row was left in the outbox (its writer crashed before publishing), then the sweep publishes it', async () => {
    const id = await foreignRow('1 minute');
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'the left-behind event published' });
    const [message] = await broker.drain('completed');
    expect(message!.properties.messageId).toBe(id);
    await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, { what: 'outbox empty' });
  });

  it("when another process's row is fresh, then neither a running nor a starting relay takes it until it is sweepAfterMs old", async () => {
    // A replica that just committed is about to publish this itself: taking it at once would
    // send the event twice. Only if it is still there later (its writer died) is it swept. A
    // relay that starts meanwhile (its first claim) leaves it alone too.
    const written = Date.now();
    const id = await foreignRow('0 seconds');
    const starting = new Messaging({
      service: 'payment',
      url: vhost.urlFor('payment'),
      pool,
      logger: pino({ level: 'silent' }),
      registry: new Registry(),
      outboxSweepAfterMs: SWEEP_AFTER_MS,
      onFatal: (error) => {
        throw error;
      },
    });
    try {
      await starting.start();
      await starting.ready();
      await eventually(async () => (await broker.depth('completed')) === 1, { what: 'the event swept', timeoutMs: 10_000 });
      expect(Date.now() - written).toBeGreaterThanOrEqual(SWEEP_AFTER_MS);
      const [message] = await broker.drain('completed');
      expect(message!.properties.messageId).toBe(id);
    } finally {
      await starting.stop();
    }
  });

  it('when the broker cannot route an event, then it stays in the outbox and it and later ones leave in order once it can', async () => {
    const orderId = randomUUID();
    const failed = (reason: string) => ({ amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason });
    const failures = () => metric('troupe_publish_failures_total', { exchange: 'payment.events' });
    const before = await failures();
    await broker.channel.unbindQueue('completed', 'payment.events', '');
    try {
      await messaging.runUnitOfWork(async (uow) => void uow.publish('PaymentFailed', orderId, failed('first')));
      await eventually(async () => (await failures()) > before, { what: 'the publish refused as unroutable' });
      await messaging.runUnitOfWork(async (uow) => void uow.publish('PaymentFailed', orderId, failed('second')));
      expect(Number((await pool.query('SELECT count(*) FROM troupe_outbox WHERE order_id = $1', [orderId])).rows[0].count)).toBe(2);
    } finally {
      await broker.channel.bindQueue('completed', 'payment.events', '');
    }
    await eventually(async () => (await broker.depth('completed')) === 2, { what: 'both events published', timeoutMs: 20_000 });
    const reasons = (await broker.drain('completed')).map((m) => JSON.parse(m.content.toString()).data.reason);
    expect(reasons).toEqual(['first', 'second']);
    await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, { what: 'outbox empty' });
    // Back on the direct path: the next event leaves straight after its commit.
    await messaging.runUnitOfWork(async (uow) => void uow.publish('PaymentFailed', orderId, failed('third')));
    await eventually(async () => (await broker.depth('completed')) === 1, { what: 'the next event published' });
    await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, { what: 'its row deleted' });
  });

  it('when writing the outbox rows fails (sent together with COMMIT), then the transaction rolls back and throws', async () => {
    const orderId = randomUUID();
    await pool.query(`
      CREATE FUNCTION refuse_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'outbox refused for the test'; END $$;
      CREATE TRIGGER refuse_outbox BEFORE INSERT ON troupe_outbox FOR EACH ROW
        WHEN (NEW.order_id = '${orderId}') EXECUTE FUNCTION refuse_outbox();`);
    try {
      await expect(
        messaging.runUnitOfWork(async (uow) => {
          await uow.db.query('INSERT INTO effects (order_id, event_id) VALUES ($1, $1)', [orderId]);
          uow.publish('PaymentFailed', orderId, { amount: { amountCents: 1, currency: 'USD' }, customer: { customerId: 'c', email: 'c@example.com' }, reason: 'x' });
        }),
      ).rejects.toThrow('outbox refused for the test');
    } finally {
      await pool.query('DROP TRIGGER refuse_outbox ON troupe_outbox; DROP FUNCTION refuse_outbox()');
    }
    expect(await effects(orderId)).toBe(0);
    // The pooled connection that saw the failure is fine for the next transaction.
    for (let i = 0; i < 5; i++) await messaging.runUnitOfWork(async (uow) => void (await uow.db.query('SELECT 1')));
  });

  it('when an event breaks its own contract, then publish throws before anything is written', async () => {
    await expect(
      messaging.runUnitOfWork(async (uow) => {
        uow.publish('PaymentFailed', randomUUID(), { reason: '' } as never);
      }),
    ).rejects.toThrow();
    expect(Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count)).toBe(0);
  });
});

describe('messaging: dead letters', () => {
  const deadLetterOne = async (event: ReturnType<typeof anEvent<'OrderPlaced'>>) => {
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('customer blocked');
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === 1, { what: 'message dead-lettered' });
    return () => {
      broken = false;
    };
  };

  it('when listed, then the message shows its reason, error and queue, and stays where it is', async () => {
    const event = anEvent('OrderPlaced');
    await deadLetterOne(event);
    const [letter] = await messaging.deadLetters((dlq) => dlq.list());
    expect(letter).toMatchObject({ id: event.id, type: 'OrderPlaced', queue: 'payment.order.events', reason: 'permanent', attempts: 1 });
    expect(letter!.error).toMatch(/customer blocked/);
    expect(await deadCount()).toBe(1);
    expect(await broker.depth('payment.dlq')).toBe(0);
  });

  it('when listed and counted 100 times, then the dead letter is unchanged, headers and body, and a replay still handles it', async () => {
    const event = anEvent('OrderPlaced');
    const fix = await deadLetterOne(event);
    const [before] = await deadLetters();
    for (let i = 0; i < 100; i++) {
      const [count, listed] = await messaging.deadLetters(async (dlq) => [await dlq.count(), await dlq.list()] as const);
      expect(count).toBe(1);
      expect(listed.map((l) => l.id)).toEqual([event.id]);
    }
    expect(await deadLetters()).toEqual([before]);
    fix();
    await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
  });

  it('when poison has a NUL byte in its body, no message id, and a byte-array header, then it is kept and listed as it came', async () => {
    const body = Buffer.from('{"id": "\u0000 not json');
    for (const tag of ['first', 'second']) {
      await broker.channel.sendToQueue('payment.order.events', body, { headers: { 'x-sender': tag, 'x-bytes': Buffer.from([0, 1, 2]) } });
    }
    const letters = await eventually(async () => {
      const listed = await messaging.deadLetters((dlq) => dlq.list());
      return listed.length === 2 && listed;
    }, { what: 'both poison messages among the dead letters' });
    // One body, two messages: two dead letters.
    expect(new Set(letters.map((l) => l.id)).size).toBe(2);
    expect(letters.map((l) => [l.reason, l.body, Buffer.isBuffer(l.headers['x-bytes'])])).toEqual([
      ['poison', body.toString(), true],
      ['poison', body.toString(), true],
    ]);
  });

  it('when the keeper finds a dead letter it already kept (redelivered before its ack), then it is kept once', async () => {
    const event = anEvent('OrderPlaced');
    await deadLetterOne(event);
    const [kept] = await deadLetters();
    const keptBefore = await metric('troupe_dead_letters_kept_total', {});
    await broker.channel.sendToQueue('payment.dlq', kept!.content, { ...kept!.properties, headers: kept!.properties.headers } as never);
    // Kept (acked) as a copy it already had, not held: a keeper that failed on it would never count it.
    await eventually(async () => (await metric('troupe_dead_letters_kept_total', {})) === keptBefore + 1, { what: 'the copy kept' });
    expect(await deadLetters()).toEqual([kept]);
  });

  it('when replayed, then it goes back to its own queue only, is handled once, and leaves the DLQ', async () => {
    const event = anEvent('OrderPlaced');
    const fix = await deadLetterOne(event);
    fix();
    const before = await metric('troupe_dlq_replayed_total', { queue: 'payment.order.events' });
    const replayed = await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    expect(replayed.map((r) => r.id)).toEqual([event.id]);
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
    expect(await deadCount()).toBe(0);
    expect(await broker.depth('observer')).toBe(1); // the fanout exchange saw it once, at first publish
    expect(await metric('troupe_dlq_replayed_total', { queue: 'payment.order.events' })).toBe(before + 1);
  });

  it('when one message of several is replayed or purged, then the others stay', async () => {
    const first = anEvent('OrderPlaced');
    const second = anEvent('OrderPlaced');
    await deadLetterOne(first);
    behaviour.set(second.orderId, () => {
      throw new PermanentError('also blocked');
    });
    await broker.publish('order.events', second);
    await eventually(async () => (await deadCount()) === 2, { what: 'two dead letters' });
    const purged = await messaging.deadLetters((dlq) => dlq.purge({ ids: [second.id] }));
    expect(purged.map((p) => p.id)).toEqual([second.id]);
    const left = await messaging.deadLetters((dlq) => dlq.list());
    expect(left.map((l) => l.id)).toEqual([first.id]);
  });
});

describe('messaging: tracing', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    otelContext.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  });
  afterAll(() => {
    trace.disable();
    propagation.disable();
    otelContext.disable();
  });

  it('when a dead letter is replayed, then it is processed in a new trace linked to the one it failed in', async () => {
    const event = anEvent('OrderPlaced');
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('not yet');
    });
    const original = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' };
    await broker.publish('order.events', event, { headers: { traceparent: `00-${original.traceId}-${original.spanId}-01` } });
    await eventually(async () => (await deadCount()) === 1, { what: 'dead-lettered' });
    broken = false;
    exporter.reset();

    await messaging.deadLetters((dlq) => dlq.replay({ ids: [event.id] }));
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replay handled' });

    const spans = exporter.getFinishedSpans();
    const replay = spans.find((s) => s.name === 'replay payment.order.events');
    const processed = await eventually(() => exporter.getFinishedSpans().find((s) => s.name === 'process payment.order.events' && s.attributes['messaging.message.id'] === event.id));
    expect(replay).toBeDefined();
    expect(replay!.spanContext().traceId).not.toBe(original.traceId);
    expect(replay!.links.map((l) => l.context)).toEqual([expect.objectContaining(original)]);
    expect(processed.spanContext().traceId).toBe(replay!.spanContext().traceId);
    expect(processed.parentSpanContext?.spanId).toBe(replay!.spanContext().spanId);
  });
});

describe('the troupe CLI', () => {
  /** The CLI against this file's vhost and `databaseUrl` (the payment database by default). */
  const cliIn = (databaseUrl: string, ...args: string[]) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn(process.execPath, [join(__dirname, '..', '..', 'cli', 'dist', 'main.js'), ...args], {
        env: { ...process.env, RABBITMQ_URL: vhost.url, DATABASE_URL: databaseUrl },
      });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (out += c));
      child.on('exit', (code) => resolve({ code, out }));
    });
  const cli = (...args: string[]) => cliIn(db.url, ...args);

  it('when an operator lists and replays a dead letter with the CLI, then it is handled and no dead letter is left', async () => {
    const event = anEvent('OrderPlaced');
    let broken = true;
    behaviour.set(event.orderId, () => {
      if (broken) throw new PermanentError('card service down');
    });
    await broker.publish('order.events', event);
    await eventually(async () => (await deadCount()) === 1, { what: 'dead-lettered' });

    const listed = await cli('dlq', 'list', '--service', 'payment', '--json');
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toMatchObject({ count: 1, messages: [{ id: event.id, reason: 'permanent', queue: 'payment.order.events' }] });

    broken = false;
    const replayed = await cli('dlq', 'replay', '--service', 'payment', '--id', event.id);
    expect(replayed).toMatchObject({ code: 0, out: expect.stringContaining(`replayed ${event.id} → payment.order.events`) });
    await eventually(async () => (await effects(event.orderId)) === 1, { what: 'replayed message handled' });
    expect(await deadCount()).toBe(0);
  });

  it('when the service has never started (no dead-letter table yet), then list says so and exits 0, and replay exits 2 with the same words', async () => {
    const empty = await createTestDatabase(inject('databaseUrl'), 'messaging-cli', inject('access').inventory);
    try {
      const inEmpty = (...args: string[]) => cliIn(empty.url, ...args, '--service', 'inventory');
      const listed = await inEmpty('dlq', 'list');
      const note = 'no dead letters: the inventory database has no dead-letter table yet (the inventory service creates it when it first starts)';
      expect(listed).toEqual({ code: 0, out: `${note}\n` });
      const json = await inEmpty('dlq', 'list', '--json');
      expect(json.code).toBe(0);
      expect(JSON.parse(json.out)).toEqual({ count: 0, messages: [] });
      const replayed = await inEmpty('dlq', 'replay', '--all');
      expect(replayed).toMatchObject({ code: 2, out: expect.stringContaining('has no dead-letter table yet') });
    } finally {
      await empty.drop();
    }
  });

  it('when asked for a message that is not there, then it exits 2 and says so', async () => {
    const result = await cli('dlq', 'replay', '--service', 'payment', '--id', 'no-such-id');
    expect(result).toMatchObject({ code: 2, out: expect.stringContaining("not found in payment's dead letters: no-such-id") });
  });
});
