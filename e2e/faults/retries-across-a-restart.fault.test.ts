import { ownExchangeOf, queueOf } from '@troupe/contracts';
import { TestBroker } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { declareTopology, DEFAULT_DELIVERY_LIMIT } from '../../shared/messaging/src/broker/topology';
import { DEFAULT_RETRY_POLICY, retryDelays, waitQueueName } from '../../shared/messaging/src/retry-policy';
import { needs } from '../support/needs';
import { canRunOwnRabbitmq, OwnRabbitmq } from './own-rabbitmq';
import { deadLetterConfirmTimeoutMs } from './troupe-broker-config';

// A retry waits in a wait queue, whose TTL dead-letters it back to its subscription queue at least
// once (decision 0002). When the wait ends while the broker stops or starts, the subscription queue
// can refuse it, and the broker offers it again only after dead_letter_worker_publisher_confirm_timeout:
// 180 s by default, 5 s in troupe's advanced.config. The broker here is a node of the test's own,
// configured as troupe configures its brokers, and the queues are the ones troupe's messaging
// library declares: many subscriptions, each with the wait queues of the default retry policy, one
// retry waiting in each. With the broker's default, the last of them came back 179 s after a
// restart; with troupe's 5 s, within 5 s. Not every restart makes the broker refuse a retry: the
// test restarts until one has (a retry still away a second after the start), and fails if none does.
const SERVICE = 'payment';
const SUBSCRIPTIONS = 50;
const DELAYS = retryDelays(DEFAULT_RETRY_POLICY);
/** Each retry's wait ends this much after the one before: together they span the stop. */
const SPACING_MS = 5;
/** "Seconds, not minutes": the broker's default would take 180 s. */
const BACK_WITHIN_MS = 15_000;
/** Without a refusal a restart proves nothing; a few have always been enough for one. */
const MAX_RESTARTS = 6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(needs('a local RabbitMQ installation (rabbitmq-server) and root, for a node of its own', canRunOwnRabbitmq()))('retries waiting while the broker restarts', () => {
  let broker: OwnRabbitmq;
  // Fanout exchanges of producers made up for the test: one subscription queue each.
  const exchanges = Array.from({ length: SUBSCRIPTIONS }, (_, i) => `feed${i}.events`);
  const queues = exchanges.map((exchange) => queueOf(SERVICE, exchange));

  beforeAll(async () => {
    broker = await OwnRabbitmq.create();
    const client = await TestBroker.connect(broker.url);
    try {
      for (const exchange of exchanges) await client.channel.assertExchange(exchange, 'fanout', { durable: true });
      await declareTopology(client.channel, { service: SERVICE, subscribedExchanges: exchanges, retry: DEFAULT_RETRY_POLICY, deliveryLimit: DEFAULT_DELIVERY_LIMIT });
    } finally {
      await client.close();
    }
  }, 180_000);

  afterAll(async () => {
    await broker?.destroy();
  }, 180_000);

  it("when retries' waits end while the broker stops and starts, then every retry is back on its queue within seconds", async () => {
    const timeoutMs = deadLetterConfirmTimeoutMs();
    expect(await broker.eval('application:get_env(rabbit, dead_letter_worker_publisher_confirm_timeout).')).toBe(`{ok,${timeoutMs}}`);

    const waits = queues.flatMap((queue) => DELAYS.map((delay) => ({ wait: waitQueueName(queue, delay), delay })));
    let refusing = 0;
    for (let restart = 1; restart <= MAX_RESTARTS && refusing === 0; restart++) {
      const ids = waits.map((_, i) => `retry-${restart}-${i}`);
      let client = await TestBroker.connect(broker.url);
      try {
        waits.forEach(({ wait, delay }, i) => {
          // Never past the wait queue's own TTL, as troupe's jitter never is.
          const expiration = String(Math.min(delay, 50 + i * SPACING_MS));
          client.channel.publish(ownExchangeOf(SERVICE), wait, Buffer.from(`{"retry":${i}}`), { persistent: true, messageId: ids[i], expiration });
        });
        await client.channel.waitForConfirms();
      } finally {
        await client.close();
      }
      await broker.stopApp();
      await sleep(3_000);
      await broker.startApp();
      const started = Date.now();

      client = await TestBroker.connect(broker.url);
      try {
        // Taken off their queues as they come back; copies offered twice (a late confirm) count
        // once, and a late copy of an earlier restart's retry not at all.
        const back = new Set<string>();
        const ours = new Set(ids);
        let awayAfterASecond = 0;
        for (let checked = false; back.size < ids.length && Date.now() - started < BACK_WITHIN_MS; await sleep(100)) {
          for (const queue of queues) {
            for (const message of await client.drain(queue)) {
              const id = String(message.properties.messageId);
              if (ours.has(id)) back.add(id);
            }
          }
          if (!checked && Date.now() - started >= 1_000) [checked, awayAfterASecond] = [true, ids.length - back.size];
        }
        if (awayAfterASecond > 0) refusing = restart;
        const lastMs = Date.now() - started;
        console.log(`restart ${restart}: ${back.size} of ${ids.length} retries back, ${awayAfterASecond} still away a second after the start, the last after ${lastMs} ms (dead-letter confirm timeout ${timeoutMs} ms)`);
        expect([...back].sort()).toEqual([...ids].sort());
      } finally {
        await client.close();
      }
    }
    expect(refusing, `in ${MAX_RESTARTS} restarts the broker refused no retry: the test proved nothing`).toBeGreaterThan(0);
  }, 420_000);
});
