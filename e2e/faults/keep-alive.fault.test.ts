import { connect, type Socket } from 'node:net';
import { anOrderRequest, brokerAdmin, createTestDatabase, ensureBrokerUsers, vhostDefinitions, withCredentials, type TestDatabase } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { needs } from '../support/needs';
import { freePort, spawnService, type ServiceProcess } from '../support/system';
import { canRunOwnRabbitmq, OwnRabbitmq } from './own-rabbitmq';

// Clients keep HTTP connections open between requests (browsers, proxies, load balancers, any
// HTTP client library). While the broker is stopped for a few seconds such a client holds its
// connections idle; when it sends on them afterwards, every request must still be answered (202:
// the order waits in the outbox). The broker here is a node of the test's own, on its own port.
const CONNECTIONS = 5;
const IDLE_MS = 6_500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One kept-alive HTTP/1.1 connection, spoken raw so that no client library hides a closed socket. */
class KeptAlive {
  private buffer = '';
  private closed = false;
  private waiter: (() => void) | undefined;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      this.waiter?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiter?.();
    });
    socket.on('error', () => undefined);
  }

  static open(port: number): Promise<KeptAlive> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => resolve(new KeptAlive(socket)));
      socket.once('error', reject);
    });
  }

  /** Sends one POST /orders; resolves with the status code, or 'closed' if the socket ended first. */
  async post(body: string): Promise<number | 'closed'> {
    this.buffer = '';
    if (this.closed) return 'closed';
    this.socket.write(
      `POST /orders HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
    for (;;) {
      const match = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n/.exec(this.buffer);
      const length = Number(/content-length: (\d+)/i.exec(this.buffer)?.[1] ?? NaN);
      if (match && this.buffer.length >= match[0].length + length) return Number(match[1]);
      if (this.closed) return 'closed';
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

describe.runIf(needs('a local RabbitMQ installation (rabbitmq-server) and root', canRunOwnRabbitmq()))('kept-alive HTTP connections while the broker is stopped', () => {
  let broker: OwnRabbitmq;
  let database: TestDatabase;
  let order: ServiceProcess;
  let port: number;

  beforeAll(async () => {
    broker = await OwnRabbitmq.create();
    // Set up as every broker troupe runs on: the fanout exchanges, and the order service's own user.
    const access = inject('access');
    const admin = brokerAdmin(`rabbitmqctl:${broker.node}`);
    await ensureBrokerUsers(admin, access);
    await admin.importDefinitions(vhostDefinitions('/', 'guest', access));
    database = await createTestDatabase(inject('databaseUrl'), 'keepalive_order', access.order);
    port = await freePort();
    const url = withCredentials(broker.url, access.order.brokerUser, access.order.brokerPassword);
    order = spawnService('order', { RABBITMQ_URL: url, DATABASE_URL: database.url, PORT: String(port), LOG_LEVEL: 'warn' });
    for (let ready = false; !ready; await sleep(200)) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status === 200, () => false);
      if (!order.running) throw new Error(`order exited:\n${order.printed}`);
    }
  }, 180_000);

  afterAll(async () => {
    await order?.stop();
    await database?.drop();
    await broker?.destroy();
  }, 180_000);

  it('when clients send on connections kept alive across a broker stop, then every request is answered 202', async () => {
    const body = JSON.stringify(anOrderRequest({ items: [{ sku: 'SKU-MUG', quantity: 1 }] }));
    const connections = await Promise.all(Array.from({ length: CONNECTIONS }, () => KeptAlive.open(port)));
    try {
      expect(await Promise.all(connections.map((c) => c.post(body)))).toEqual(Array(CONNECTIONS).fill(202));
      const idleSince = Date.now();
      await broker.stopApp();
      // A stop takes seconds on a busy broker; the clients hold their connections all along.
      await sleep(Math.max(0, IDLE_MS - (Date.now() - idleSince)));
      expect(await Promise.all(connections.map((c) => c.post(body)))).toEqual(Array(CONNECTIONS).fill(202));
      const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { checks: { broker: boolean } };
      expect(ready.checks.broker).toBe(false);
    } finally {
      connections.forEach((c) => c.close());
      await broker.startApp();
    }
  }, 120_000);
});
