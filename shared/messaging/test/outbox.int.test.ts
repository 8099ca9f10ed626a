import { randomUUID } from 'node:crypto';
import { eventually } from '@troupe/testing';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { Messaging } from '../src';
import { broker, effects, messaging, metric, pool, SWEEP_AFTER_MS, usePaymentService, vhost } from './payment-service';

// The producer's side, as the payment service: the unit of work, the relay, the sweep.
usePaymentService();

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
