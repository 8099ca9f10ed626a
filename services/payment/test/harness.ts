import { randomUUID } from 'node:crypto';
import { decodeEvent, type EventData, type EventType } from '@troupe/contracts';
import { startService, type RunningService } from '@troupe/platform';
import { createTestDatabase, createTestVhost, eventually, TestBroker, type TestDatabase, type TestVhost } from '@troupe/testing';
import { expect, inject } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { paymentService } from '../src/main';

/** An event this service published, as a subscriber received it. */
export interface Published<T extends EventType = EventType> {
  body: { id: string; type: T; version: number; occurredAt: string; orderId: string; data: EventData[T] };
  properties: { messageId?: string; type?: string; contentType?: string; deliveryMode?: number; headers?: Record<string, unknown> };
  /** The body as sent. */
  raw: string;
}

/**
 * The payment service running in-process against its own vhost and database, driven the way the
 * other services would: events published onto the exchanges it consumes, and a subscriber of its
 * own exchange recording everything it publishes.
 */
export interface PaymentHarness {
  running: RunningService<Config>;
  broker: TestBroker;
  baseUrl: string;
  /** Every event of `type` published about `orderId` so far. */
  published<T extends EventType>(orderId: string, type: T): Published<T>[];
  /** Waits until exactly `count` events of `type` were published about `orderId`, and returns them. */
  awaitPublished<T extends EventType>(orderId: string, type: T, count?: number): Promise<Published<T>[]>;
  /** The value of a counter on /metrics, summed over the series matching `labels`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  stop(): Promise<void>;
}

export async function startPaymentHarness(label: string): Promise<PaymentHarness> {
  let vhost: TestVhost | undefined;
  let db: TestDatabase | undefined;
  let broker: TestBroker | undefined;
  let running: RunningService<Config> | undefined;
  const stop = async () => {
    await running?.stop();
    await broker?.close();
    await db?.drop();
    await vhost?.delete();
  };
  try {
    vhost = await createTestVhost(inject('rabbitmqUrl'), inject('rabbitmqManagementUrl'), label);
    db = await createTestDatabase(inject('databaseUrl'), label);
    const config = loadConfig({
      RABBITMQ_URL: vhost.url,
      DATABASE_URL: db.url,
      LOG_LEVEL: 'silent',
      RETRY_BASE_DELAY_MS: '50',
      RETRY_MAX_ATTEMPTS: '4',
    });
    // PORT=0 (any free port) is refused by the shared config schema (min 1), so it is set here.
    running = await startService(paymentService({ ...config, PORT: 0 }));
    await running.messaging.ready();
    broker = await TestBroker.connect(vhost.url);
    const { seen, flush } = await subscribeTo(broker, 'payment.events');
    const baseUrl = `http://127.0.0.1:${running.port}`;
    const pool = running.pool;
    const published = <T extends EventType>(orderId: string, type: T) =>
      seen.filter((m): m is Published<T> => m.body.orderId === orderId && m.body.type === type);
    return {
      running,
      broker,
      baseUrl,
      published,
      awaitPublished: async (orderId, type, count = 1) => {
        await eventually(() => published(orderId, type).length >= count, { what: `${count} ${type} for ${orderId}` });
        // Nothing more can be on its way: the outbox is empty and everything the broker took is here.
        await eventually(async () => Number((await pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count) === 0, {
          what: 'an empty outbox',
        });
        await flush();
        const events = published(orderId, type);
        expect(events).toHaveLength(count);
        return events;
      },
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

/** The envelope and AMQP properties DESIGN.md promises for every event, and a body its consumers accept. */
export function expectEnvelope(message: Published, type: EventType, orderId: string): void {
  const decoded = decodeEvent(message.raw);
  expect(decoded.ok ? 'valid' : decoded.reason).toBe('valid');
  expect(message.body).toEqual({
    id: expect.stringMatching(/^[0-9a-f-]{36}$/),
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
