import { randomUUID } from 'node:crypto';
import { TestBroker } from '@troupe/testing';
import { inject, describe, expect, it, afterAll, beforeAll } from 'vitest';
import { deadLetterRows, sql } from '../support/api';
import { useSystem } from '../support/hooks';
import { needs } from '../support/needs';
import { RoundRobin } from '../support/round-robin';
import { SERVICES, type ServiceProcess } from '../support/system';
import { adoptTroupeDeadLetterTimeout, awaitBroker, brokerIsLocallyControllable, closeServiceConnections, startBroker, stopBroker } from './broker-control';
import { expectAllInvariants, streamOrders, type Placed } from './load';
import { mailCounts } from './mail-counts';
import { SmtpSink } from './smtp-sink';

// Fault injection: a stream of orders while processes are SIGKILLed, broker connections
// are force-closed and the broker is stopped and started. After each run the databases must show:
// every order terminal with the right outcome, one charge per order (refunds only for rejected
// stock), one notification per order, stock conserved, and the DLQs holding exactly the poison
// messages injected. This file runs on its own, after the other suites (`make test`).
// The customers' mailbox: a real SMTP server of the test's own, counting each mail where it lands.
const sink = new SmtpSink();
beforeAll(() => sink.start());
afterAll(() => sink.stop());
const ADMIN_TOKEN = 'faults-admin-token';
// A longer, faster ladder: a quarter of deliveries failing must not exhaust any message's attempts.
const ctx = useSystem('faults', () => ({ SMTP_URL: sink.url, ADMIN_TOKEN, RETRY_MAX_ATTEMPTS: '8', RETRY_BASE_DELAY_MS: '100' }));
/** Transactions a service has in flight at most (CONSUMER_CONCURRENCY's default): what one kill can cut. */
const IN_FLIGHT = 4;
const poison: string[] = [];
const allPlaced: Placed[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One poison message per run, published to order.events: payment must dead-letter it and go on. */
async function injectPoison(): Promise<void> {
  const id = randomUUID();
  poison.push(id);
  await ctx.broker.publish('order.events', Buffer.from(`{"id":"${id}", this is not json`), { messageId: id, type: 'OrderPlaced' });
}

/**
 * Every invariant, and one mail per order where it lands: a killed notification process may leave
 * one repeated mail per transaction it had in flight (the SMTP server's acceptance done, its record
 * not: decision 0032), no more.
 */
async function expectInvariants(placed: Placed[], notificationKills = 0): Promise<void> {
  allPlaced.push(...placed);
  await expectAllInvariants(ctx.system, ctx.broker, placed, poison.length);
  const mails = await mailCounts(ctx.system, sink, placed);
  console.log(`mails: ${mails.orders} orders, ${mails.missing.length} without a mail, ${mails.extra} repeated (${notificationKills} notification processes killed)`);
  expect(mails.missing).toEqual([]);
  expect(sink.errors).toEqual([]);
  expect(mails.extra).toBeLessThanOrEqual(IN_FLIGHT * notificationKills);
  expect(mails.repeated.every((r) => r.times === 2)).toBe(true);
}

describe('under faults', () => {
  it('when each service is SIGKILLed and restarted during a stream of orders, then nothing is lost or done twice', async () => {
    await injectPoison();
    const placed = await streamOrders(ctx.system, { perSecond: 25, durationMs: 8_000 }, async () => {
      for (const service of SERVICES) {
        await sleep(1_500);
        await ctx.system.kill(service);
        await sleep(300);
        await ctx.system.start(service);
      }
    });
    expect(placed.length).toBe(200);
    await expectInvariants(placed, 1);
  });

  it('when a quarter of mail deliveries fail during a stream, then every customer gets exactly one mail and every order completes', async () => {
    await injectPoison();
    const faults = (notificationDeliveryFailureRate: number) =>
      fetch(`${ctx.system.baseUrl('notification')}/admin/faults`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ notificationDeliveryFailureRate }),
      });
    expect((await faults(0.25)).status).toBe(200);
    try {
      const placed = await streamOrders(ctx.system, { perSecond: 20, durationMs: 6_000 }, async () => undefined);
      await expectInvariants(placed);
      const [retried] = await sql<{ n: string }>(ctx.system, 'notification', "SELECT count(*) AS n FROM troupe_failed_attempts WHERE outcome = 'retried' AND order_id = ANY($1::uuid[])", [
        placed.map((p) => p.orderId),
      ]);
      console.log(`delivery failure at 25%: ${placed.length} orders, ${retried?.n} mail attempts failed and retried`);
      expect(Number(retried?.n), 'the switch failed some deliveries').toBeGreaterThan(0);
    } finally {
      await faults(0);
    }
  });

  it('when every service runs two replicas (order behind a round-robin) and one of each is SIGKILLed during a stream, then nothing is lost or done twice', async () => {
    await injectPoison();
    // Competing consumers on the same queues and databases; one order's messages in sequence, SKIP LOCKED and the
    // unique constraints keep them apart, and the order replicas share the idempotency keys. The
    // replicas killed here are not restarted: their unacked messages go to the survivors, and the
    // outbox rows they committed but never published are picked up by the survivors' sweep
    // (decision 6). An order POST cut by the kill is retried by the client with its key.
    const replicas = await Promise.all(SERVICES.map((service) => ctx.system.startReplica(service)));
    const front = await RoundRobin.start([ctx.system.baseUrl('order'), (replicas[0] as ServiceProcess).baseUrl]);
    try {
      const placed = await streamOrders(ctx.system, { perSecond: 25, durationMs: 8_000, orderUrl: front.url }, async () => {
        // The order replica last, so that both have taken a good share of the stream by then.
        for (const replica of [...replicas].reverse()) {
          await sleep(1_500);
          await replica.stop('SIGKILL');
        }
      });
      expect(placed.length).toBe(200);
      console.log(`POST /orders through the round-robin: ${front.hits.join(' / ')} answered, ${front.accepted.join(' / ')} accepted, per order replica`);
      expect(Math.min(...front.accepted), 'both order replicas accepted orders').toBeGreaterThan(0);
      await expectInvariants(placed, 1);
    } finally {
      await front.close();
    }
  });

  it("when every service's broker connection is force-closed twice during a stream, then each recovers and everything completes", async () => {
    await injectPoison();
    let closed = 0;
    const placed = await streamOrders(ctx.system, { perSecond: 25, durationMs: 6_000 }, async () => {
      await sleep(1_500);
      closed += await closeServiceConnections(inject('brokerAdmin'), ctx.system.vhost.name, SERVICES);
      await sleep(1_000);
      closed += await closeServiceConnections(inject('brokerAdmin'), ctx.system.vhost.name, SERVICES);
    });
    expect(closed).toBe(8); // four services, twice
    await expectInvariants(placed);
  });

  describe('with the broker itself stopped', () => {
    let stopped = false;
    const extra: Placed[] = [];
    const readyzWhileDown: number[] = [];
    let restoreTimeout: (() => Promise<void>) | undefined;
    afterAll(async () => {
      // Whatever happened, leave the local broker running, with its own settings.
      try {
        if (stopped) await startBroker().then(awaitBroker);
      } finally {
        await restoreTimeout?.();
      }
    });

    it.runIf(needs('a broker on this host that rabbitmqctl controls', brokerIsLocallyControllable(inject('rabbitmqUrl'))))(
      'when the broker is stopped for 5 s and started during a stream, then orders are still accepted, services do not crash, and everything completes',
      async () => {
        // As on every broker troupe ships a configuration for: a retry whose wait ends while the
        // broker stops or starts, refused by its queue, is offered again within seconds, not minutes.
        const timeout = await adoptTroupeDeadLetterTimeout();
        restoreTimeout = timeout.restore;
        console.log(`the broker's dead-letter confirm timeout for this test: ${timeout.now} ms (its own: ${timeout.was} ms)`);
        await injectPoison();
        let acceptedWhileDown = 0;
        const placed = await streamOrders(ctx.system, { perSecond: 20, durationMs: 9_000 }, async () => {
          await sleep(1_500);
          stopped = true;
          await stopBroker();
          try {
            const before = Date.now();
            const downSince = Date.now();
            // POST /orders keeps answering 202 while the broker is away: the orders wait in the outbox.
            while (Date.now() - before < 5_000) {
              const response = await fetch(`${ctx.system.baseUrl('order')}/orders`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ customerId: 'outage', email: 'o@example.com', items: [{ sku: 'SKU-MUG', quantity: 1 }], paymentMethod: { token: 'tok_visa' } }),
              });
              if (response.status === 202) {
                acceptedWhileDown += 1;
                extra.push({ orderId: ((await response.json()) as { orderId: string }).orderId, kind: 'visa', sku: 'SKU-MUG', quantity: 1 });
              }
              const ready = await fetch(`${ctx.system.baseUrl('payment')}/readyz`);
              readyzWhileDown.push(ready.status);
              await sleep(500);
            }
            expect(Date.now() - downSince).toBeGreaterThanOrEqual(5_000);
          } finally {
            await startBroker();
            await awaitBroker();
            stopped = false;
            // The test's own client went down with the broker too.
            await ctx.broker.close();
            ctx.broker = await TestBroker.connect(ctx.system.vhost.url);
          }
        });
        expect(acceptedWhileDown).toBeGreaterThan(0);
        expect(readyzWhileDown).toContain(503);
        for (const service of SERVICES) expect(ctx.system.isRunning(service), `${service} still running`).toBe(true);
        await expectInvariants([...placed, ...extra]);
      },
      180_000,
    );
  });

  it('after all the faults, then every order ever accepted exists exactly once and the DLQ holds exactly the poison injected', async () => {
    const [row] = await sql<{ n: string }>(ctx.system, 'order', 'SELECT count(*) AS n FROM orders');
    expect(Number(row?.n)).toBe(allPlaced.length);
    const dead = await deadLetterRows(ctx.system, 'payment');
    expect(dead.map((m) => m.id).sort()).toEqual([...poison].sort());
    expect(dead.every((m) => m.headers['x-troupe-dead-letter-reason'] === 'poison')).toBe(true);
  });
});
