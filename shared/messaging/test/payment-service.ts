import { randomUUID } from 'node:crypto';
import { createTestDatabase, createTestVhost, TestBroker, type TestDatabase, type TestVhost } from '@troupe/testing';
import { runner } from 'node-pg-migrate';
import pg from 'pg';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { MIGRATIONS_DIR, Messaging, subscribe, type Handler } from '../src';

// The library on its own, as the "payment" service, against the real broker and database:
// a handler that records each OrderPlaced it is given, and can be told to fail.
export let vhost: TestVhost;
export let db: TestDatabase;
export let pool: pg.Pool;
export let broker: TestBroker;
export let messaging: Messaging;
export let registry: Registry;
export const behaviour = new Map<string, (attempt: number, db: pg.PoolClient, ctx: Parameters<Handler<'OrderPlaced'>>[1]) => void | Promise<void>>();
/** How many times each order's handler was called: a call stands for a call outside the database. */
export const calls = new Map<string, number>();
export const SWEEP_AFTER_MS = 1500;
export const MAX_MESSAGE_BYTES = 16_384;

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
  await behaviour.get(event.orderId)?.(ctx.attempt, ctx.db, ctx);
};

export const effects = async (orderId: string) =>
  Number((await pool.query('SELECT count(*) FROM effects WHERE order_id = $1', [orderId])).rows[0].count);
/** The dead letters the keeper moved into the database, oldest first, as the broker delivered them. */
export const deadLetters = async () =>
  (await pool.query<{ properties: { messageId?: string; headers?: Record<string, unknown> }; body: Buffer }>(
    'SELECT properties, body FROM troupe_dead_letters ORDER BY dead_lettered_at, id',
  )).rows.map((row) => ({ properties: row.properties, content: row.body }));
export const deadCount = async () => (await deadLetters()).length;
/** Committed rows of the event in the inbox (any consumer's), and of the order in the outbox. */
export const inboxRows = async (eventId: string) => Number((await pool.query('SELECT count(*) FROM troupe_inbox WHERE event_id = $1', [eventId])).rows[0].count);
export const outboxRows = async (orderId: string) => Number((await pool.query('SELECT count(*) FROM troupe_outbox WHERE order_id = $1', [orderId])).rows[0].count);
export const metric = async (name: string, labels: Record<string, string>) => {
  const values = (await registry.getSingleMetric(name)?.get())?.values ?? [];
  return values
    .filter((v) => Object.entries(labels).every(([k, l]) => (v.labels as Record<string, unknown>)[k] === l))
    .reduce((sum, v) => sum + v.value, 0);
};

/** A test file's own vhost, database and `Messaging` as the payment service, set up once per file. */
export function usePaymentService(): void {
  beforeAll(async () => {
    const access = inject('access');
    vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'messaging');
    db = await createTestDatabase(inject('databaseUrl'), 'messaging', access.payment);
    await runner({ databaseUrl: db.url, dir: MIGRATIONS_DIR, direction: 'up', migrationsTable: 'pgmigrations', log: () => undefined });
    // As the services create theirs (@troupe/service): pipelined, so BEGIN and COMMIT travel with
    // the statements next to them.
    pool = new pg.Pool({ connectionString: db.url, max: 5, pipeline: true });
    // As @troupe/service's pool does: an idle client whose connection the server ends reports it here,
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
}
