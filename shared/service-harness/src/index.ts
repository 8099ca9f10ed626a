import { randomUUID } from 'node:crypto';
import { decodeEvent, exchangeOf, SERVICES, type EventData, type EventType } from '@troupe/contracts';
import { startService, type BaseConfig, type RunningService, type ServiceSpec } from '@troupe/service';
import { createTestDatabase, createTestVhost, eventually, TestBroker, type TestDatabase, type TestVhost } from '@troupe/testing';
import { expect, inject } from 'vitest';

// The service under test runs in-process against a vhost and a database of its own (one per test
// file), and is driven the way the other services would drive it: events published onto the
// exchanges it consumes, and a subscriber of its own exchange recording everything it publishes.

/** An event the service published, as a subscriber received it. */
export interface Published<T extends EventType = EventType> {
  body: { id: string; type: T; version: number; occurredAt: string; orderId: string; data: EventData[T] };
  properties: { messageId?: string; type?: string; contentType?: string; deliveryMode?: number; headers?: Record<string, unknown> };
  /** The body as sent. */
  raw: string;
}

export interface Harness<C extends BaseConfig> {
  running: RunningService<C>;
  broker: TestBroker;
  baseUrl: string;
  /** Every event of `type` published about `orderId` so far. */
  published<T extends EventType>(orderId: string, type: T): Published<T>[];
  /**
   * Waits for `count` events of `type` about `orderId`, then until nothing more can be on its way
   * (the outbox is empty and everything the broker took has arrived), and checks there are exactly
   * `count`.
   */
  awaitPublished<T extends EventType>(orderId: string, type: T, count?: number): Promise<Published<T>[]>;
  /** Everything published so far, once nothing more can be on its way. */
  settled(): Promise<Published[]>;
  /** Waits for the event `eventId` to reach the service's dead letters (kept in its database), and returns it. */
  awaitDeadLetter(eventId: string): Promise<DeadLetter>;
  /** Whether the event `eventId` is among the service's dead letters by now. */
  isDeadLettered(eventId: string): Promise<boolean>;
  /** A metric on GET /metrics, summed over the series whose labels include `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

/** A dead letter as the service keeps it: the message's AMQP properties and body. */
export interface DeadLetter {
  properties: { messageId?: string; type?: string; headers?: Record<string, unknown> };
  content: Buffer;
}

export interface HarnessOptions<C extends BaseConfig> {
  label: string;
  /** The service's own `loadConfig` and spec factory (its main.ts). */
  loadConfig: (env: NodeJS.ProcessEnv) => C;
  service: (config: C) => ServiceSpec<C>;
  /** The exchange the service publishes on. */
  publishesOn: string;
  /** Extra environment for this file. */
  env?: NodeJS.ProcessEnv;
}

export async function startHarness<C extends BaseConfig>(options: HarnessOptions<C>): Promise<Harness<C>> {
  let vhost: TestVhost | undefined;
  let db: TestDatabase | undefined;
  let broker: TestBroker | undefined;
  let running: RunningService<C> | undefined;
  const stop = async () => {
    await running?.stop();
    await broker?.close();
    await db?.drop();
    await vhost?.delete();
  };
  try {
    // The service under test connects as its own least-privilege user and role; the test's client
    // (playing every other service) as the operator.
    const service = SERVICES.find((s) => exchangeOf(s) === options.publishesOn);
    if (!service) throw new Error(`no service publishes on ${options.publishesOn}`);
    const access = inject('access');
    vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, options.label);
    db = await createTestDatabase(inject('databaseUrl'), options.label, access[service]);
    const config = options.loadConfig({
      RABBITMQ_URL: vhost.urlFor(service),
      DATABASE_URL: db.url,
      LOG_LEVEL: 'silent',
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_ATTEMPTS: '4',
      ...options.env,
    });
    running = await startService(options.service({ ...config, PORT: 0 }));
    await running.messaging.ready();
    const connected = await TestBroker.connect(vhost.url);
    broker = connected;
    const { seen, flush } = await subscribeTo(connected, options.publishesOn);
    const baseUrl = `http://127.0.0.1:${running.port}`;
    const pool = running.pool;
    const published = <T extends EventType>(orderId: string, type: T) =>
      seen.filter((m): m is Published<T> => m.body.orderId === orderId && m.body.type === type);
    // The service's dead-letter keeper moves what reaches its DLQ into troupe_dead_letters.
    const deadLetter = async (eventId: string): Promise<DeadLetter | undefined> => {
      const { rows } = await pool.query<{ properties: DeadLetter['properties']; body: Buffer }>(
        'SELECT properties, body FROM troupe_dead_letters WHERE id = $1 ORDER BY replay_count DESC LIMIT 1',
        [eventId],
      );
      return rows[0] && { properties: rows[0].properties, content: rows[0].body };
    };
    const isDeadLettered = async (eventId: string) => (await deadLetter(eventId)) !== undefined;
    const settled = async () => {
      await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, {
        what: 'an empty outbox',
      });
      await flush();
      return [...seen];
    };
    return {
      running,
      broker: connected,
      baseUrl,
      published,
      settled,
      awaitPublished: async (orderId, type, count = 1) => {
        await eventually(() => published(orderId, type).length >= count, { what: `${count} ${type} for order ${orderId}` });
        await settled();
        const events = published(orderId, type);
        expect(events).toHaveLength(count);
        return events;
      },
      isDeadLettered,
      awaitDeadLetter: (eventId) => eventually(() => deadLetter(eventId), { what: `${eventId} among the dead letters` }),
      metric: async (name, labels = {}) => metricValue(await (await fetch(`${baseUrl}/metrics`)).text(), name, labels),
      stop,
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Binds an exclusive queue to `exchange` and records every message on it. `flush` sends a marker
 * through the same queue and waits for it: whatever the broker had taken before is recorded then.
 */
async function subscribeTo(broker: TestBroker, exchange: string): Promise<{ seen: Published[]; flush: () => Promise<void> }> {
  const seen: Published[] = [];
  const markers = new Set<string>();
  const { queue } = await broker.channel.assertQueue('', { exclusive: true, durable: false });
  await broker.channel.bindQueue(queue, exchange, '');
  await broker.channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const raw = message.content.toString('utf8');
      const marker = message.properties.headers?.['x-test-marker'];
      if (typeof marker === 'string') markers.add(marker);
      else seen.push({ body: JSON.parse(raw), properties: message.properties, raw });
    },
    { noAck: true },
  );
  const flush = async () => {
    const marker = randomUUID();
    await new Promise<void>((resolve, reject) =>
      broker.channel.sendToQueue(queue, Buffer.from('{}'), { headers: { 'x-test-marker': marker } }, (error) => (error ? reject(error) : resolve())),
    );
    await eventually(() => markers.has(marker), { what: 'the flush marker' });
  };
  return { seen, flush };
}

/** Sums the samples of `name` whose labels include `labels`, from Prometheus text. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const sample = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!sample || sample[1] !== name) continue;
    const found = Object.fromEntries([...(sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) sum += Number(sample[3]);
  }
  return sum;
}

/**
 * GET /readyz answers 200: database and broker up (naming the node as host:port, never the
 * credentials), every dependency in `dependencies` (the database always) up, and each of
 * `queues`, in order, consuming.
 */
export async function expectReady(baseUrl: string, queues: readonly string[], dependencies: readonly string[] = []): Promise<void> {
  const ready = await fetch(`${baseUrl}/readyz`);
  expect(ready.status).toBe(200);
  expect(await ready.json()).toEqual({
    status: 'ready',
    checks: {
      database: true,
      broker: true,
      brokerNode: expect.stringMatching(/^[^@/:]+:\d+$/),
      dependencies: Object.fromEntries(['database', ...dependencies].map((name) => [name, { up: true }])),
      // `<service>.<exchange>`: each subscription names the exchange it is bound to, and the messages in hand.
      subscriptions: queues.map((queue) => ({ queue, exchange: queue.slice(queue.indexOf('.') + 1), consuming: true, unacked: expect.any(Number) })),
    },
  });
}

/**
 * The envelope and AMQP properties docs/design.md ("The envelope") promises for every event, and
 * a body its consumers accept.
 */
export function expectEnvelope(message: Published, type: EventType, orderId: string): void {
  const decoded = decodeEvent(message.raw);
  expect(decoded.ok ? 'valid' : decoded.reason).toBe('valid');
  expect(message.body).toEqual({
    id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/),
    type,
    version: 1,
    occurredAt: expect.any(String),
    orderId,
    data: expect.any(Object),
  });
  expect(Number.isNaN(Date.parse(message.body.occurredAt))).toBe(false);
  expect(message.properties).toMatchObject({
    messageId: message.body.id,
    type,
    contentType: 'application/json',
    deliveryMode: 2,
  });
}
