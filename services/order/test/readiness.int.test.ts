import { createServer, connect, type Server, type Socket } from 'node:net';
import { readinessSchema } from '@troupe/contracts';
import { startService, type RunningService } from '@troupe/service';
import { anOrderRequest, createTestDatabase, createTestVhost, eventually, TestBroker, type TestDatabase, type TestVhost } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { orderService } from '../src/main';

// Readiness versus the dependency status (docs/decisions/0027): the order service takes orders
// while the broker is away (they wait in the outbox), so the probe Kubernetes routes requests by,
// GET /readyz/requests, stays 200; GET /readyz goes on telling that the broker is missing.
// The broker is taken away by a TCP proxy in front of it, not by stopping it.

/** A TCP proxy to `target` whose connections can be cut, and new ones refused, until restored. */
async function cuttableProxy(target: URL): Promise<{ port: number; cut(): void; restore(): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((client) => {
    if (!open) return void client.destroy();
    const upstream = connect(Number(target.port || 5672), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    cut: () => {
      open = false;
      for (const socket of sockets) socket.destroy();
    },
    restore: () => {
      open = true;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let vhost: TestVhost;
let db: TestDatabase;
let proxy: Awaited<ReturnType<typeof cuttableProxy>>;
let order: RunningService<Config>;
let baseUrl: string;
let listener: TestBroker;

beforeAll(async () => {
  const access = inject('access');
  vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'order_readiness');
  db = await createTestDatabase(inject('databaseUrl'), 'order_readiness', access.order);
  const direct = new URL(vhost.urlFor('order'));
  proxy = await cuttableProxy(direct);
  const throughProxy = new URL(direct);
  throughProxy.hostname = '127.0.0.1';
  throughProxy.port = String(proxy.port);
  const config = loadConfig({ RABBITMQ_URL: throughProxy.toString(), DATABASE_URL: db.url, LOG_LEVEL: 'silent' });
  order = await startService(orderService({ ...config, PORT: 0 }));
  await order.messaging.ready();
  baseUrl = `http://127.0.0.1:${order.port}`;
  // A queue on order.events (as the other services have), so that what the outbox relays is routed.
  listener = await TestBroker.connect(vhost.url);
  const { queue } = await listener.channel.assertQueue('', { exclusive: true, durable: false });
  await listener.channel.bindQueue(queue, 'order.events', '');
});

afterAll(async () => {
  await order?.stop();
  await listener?.close();
  await proxy?.close();
  await db?.drop();
  await vhost?.delete();
});

const probe = async (path: string) => {
  const response = await fetch(`${baseUrl}${path}`);
  // The published Readiness schema, for both routes.
  return { status: response.status, body: readinessSchema.parse(await response.json()) as { status: string; checks: Record<string, unknown> } };
};
const outboxSize = async () => Number((await order.pool.query('SELECT count(*) FROM troupe_outbox')).rows[0].count);

describe('readiness while the broker is away', () => {
  it('when connected, then both /readyz and /readyz/requests are 200; /readyz/requests checks the database alone', async () => {
    expect((await probe('/readyz')).status).toBe(200);
    expect(await probe('/readyz/requests')).toEqual({ status: 200, body: { status: 'ready', checks: { database: true } } });
  });

  it('when the broker is cut off, then /readyz says so with 503, /readyz/requests stays 200 and an order is accepted into the outbox; back, it leaves', async () => {
    proxy.cut();
    try {
      await eventually(async () => ((await probe('/readyz')).status === 503 ? true : undefined), { what: '/readyz 503 without the broker' });
      expect((await probe('/readyz')).body.checks.broker).toBe(false);
      expect(await probe('/readyz/requests')).toEqual({ status: 200, body: { status: 'ready', checks: { database: true } } });

      const placed = await fetch(`${baseUrl}/orders`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(anOrderRequest()) });
      expect(placed.status).toBe(202);
      expect(await outboxSize()).toBeGreaterThan(0);
    } finally {
      proxy.restore();
    }
    await eventually(async () => ((await probe('/readyz')).status === 200 ? true : undefined), { what: '/readyz 200 with the broker back', timeoutMs: 30_000 });
    await eventually(async () => ((await outboxSize()) === 0 ? true : undefined), { what: 'the outbox relayed' });
  });
});
