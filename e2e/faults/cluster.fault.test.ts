import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { brokerAdmin, ensureBrokerUsers, eventually, TestBroker, vhostDefinitions, withCredentials, type TestVhost } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { deadLetterRows } from '../support/api';
import { needs } from '../support/needs';
import { SERVICES, System, type Service } from '../support/system';
import { expectAllInvariants, streamOrders } from './load';
import { canRunRabbitCluster, ctl, RabbitCluster, type ClusterNode } from './rabbit-cluster';

// A three-node RabbitMQ cluster of the test's own (beside any broker already on the host), troupe's
// quorum queues replicated on all three, a stream of orders, and the node leading the most of the
// busiest queues SIGKILLed mid-stream, then started again. Services are given every node's address:
// those on the dead node reconnect to another, the queues it led elect new leaders, and the
// invariants of the fault suite must hold.
const SUBSCRIPTION_QUEUE = /^(order|payment|inventory|notification)\.(order|payment|inventory|notification)\.events$/;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

let cluster: RabbitCluster | undefined;
let system: System | undefined;

/** Orders finished (terminal and notified), sampled every 100 ms: where the stream stalls, and how long. */
class Progress {
  readonly samples: { at: number; done: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** The round in flight: `stop` settles it before it ends the client it queries. */
  private round: Promise<void> | undefined;
  private stopped = false;
  private failure: unknown;
  private readonly client: pg.Client;

  constructor(databaseUrl: string) {
    this.client = new pg.Client({ connectionString: databaseUrl });
  }

  async start(): Promise<void> {
    await this.client.connect();
    const sample = async () => {
      const { rows } = await this.client.query<{ n: string }>(
        `SELECT count(*) AS n FROM orders o WHERE status IN ('COMPLETED', 'CANCELLED')
           AND EXISTS (SELECT 1 FROM order_history h WHERE h.order_id = o.id AND h.type = 'NotificationSent')`,
      );
      this.samples.push({ at: Date.now(), done: Number(rows[0]?.n) });
      if (this.stopped) return;
      this.timer = setTimeout(() => {
        this.round = sample().catch((error: unknown) => {
          this.failure ??= error;
        });
      }, 100);
    };
    await sample();
  }

  /** Stops sampling: the last round finishes first, then the client closes; a round that failed fails here. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.round;
    await this.client.end();
    if (this.failure !== undefined) throw this.failure;
  }

  /** From `at` to the first sample showing one more order finished (undefined: none did). */
  firstProgressAfter(at: number): number | undefined {
    const before = [...this.samples].reverse().find((s) => s.at <= at)?.done ?? 0;
    const next = this.samples.find((s) => s.at > at && s.done > before);
    return next && next.at - at;
  }

  /** From `at` to the last sample that showed one more order finished. */
  lastProgressAfter(at: number): number | undefined {
    const last = this.samples.at(-1)?.done;
    const first = this.samples.find((s) => s.done === last);
    return first && first.at > at ? first.at - at : undefined;
  }

  /** Orders finished in each `bucketMs` from `from` to the last sample: how the backlog drained. */
  finishedPer(from: number, bucketMs: number): number[] {
    const buckets: number[] = [];
    let previous = [...this.samples].reverse().find((s) => s.at <= from)?.done ?? 0;
    for (const s of this.samples.filter((x) => x.at > from)) {
      const i = Math.floor((s.at - from) / bucketMs);
      while (buckets.length <= i) buckets.push(0);
      buckets[i] = (buckets[i] ?? 0) + s.done - previous;
      previous = s.done;
    }
    return buckets;
  }

  /** The longest stretch without any order finishing, between `from` and `to`. */
  longestStallBetween(from: number, to: number): number {
    let longest = 0;
    let since = from;
    let last = [...this.samples].reverse().find((s) => s.at <= from)?.done ?? 0;
    for (const s of this.samples.filter((x) => x.at > from && x.at <= to)) {
      if (s.done > last) {
        longest = Math.max(longest, s.at - since);
        since = s.at;
        last = s.done;
      }
    }
    return Math.max(longest, to - since);
  }
}

/** `host:port` → the node it is, for reading /readyz's brokerNode. */
const nodeByAddress = (c: RabbitCluster, address: string | undefined) => c.nodes.find((n) => address === `127.0.0.1:${n.amqpPort}`)?.name;

async function brokerNodes(s: System, c: RabbitCluster): Promise<Record<Service, string | undefined>> {
  const entries = await Promise.all(
    SERVICES.map(async (service) => {
      const response = await fetch(`${s.baseUrl(service)}/readyz`, { signal: AbortSignal.timeout(2000) });
      const body = (await response.json()) as { checks: { brokerNode?: string } };
      return [service, response.status === 200 ? nodeByAddress(c, body.checks.brokerNode) : undefined] as const;
    }),
  );
  return Object.fromEntries(entries) as Record<Service, string | undefined>;
}

/** The node that leads the most subscription queues (every order passes through each of them). */
async function busiestLeader(c: RabbitCluster): Promise<{ node: ClusterNode; leads: string[] }> {
  const queues = (await c.queues(c.nodes[0] as ClusterNode)).filter((q) => SUBSCRIPTION_QUEUE.test(q.name));
  const leads = new Map<string, string[]>();
  for (const q of queues) leads.set(q.leader, [...(leads.get(q.leader) ?? []), q.name]);
  const [name, led] = [...leads.entries()].sort((a, b) => b[1].length - a[1].length)[0] as [string, string[]];
  return { node: c.nodeNamed(name), leads: led.sort() };
}

describe.runIf(needs('a local RabbitMQ installation (rabbitmq-server) and root, for three nodes of its own', canRunRabbitCluster()))('on a three-node RabbitMQ cluster', () => {
  beforeAll(async () => {
    const started = Date.now();
    cluster = await RabbitCluster.start(3);
    console.log(`cluster of ${cluster.nodes.map((n) => `${n.name} (:${n.amqpPort})`).join(', ')} formed in ${Date.now() - started} ms`);
    // Least privilege on the cluster too: each service's own user, as on any broker troupe runs on.
    const access = inject('access');
    const admin = brokerAdmin(`rabbitmqctl:${cluster.nodes[0]!.name}`);
    await ensureBrokerUsers(admin, access);
    await admin.importDefinitions(vhostDefinitions('/', 'guest', access));
    const urls = cluster.url;
    const own: TestVhost = {
      name: '/',
      url: urls,
      urlFor: (service) =>
        urls
          .split(',')
          .map((node) => withCredentials(node, access[service].brokerUser, access[service].brokerPassword))
          .join(','),
      delete: async () => undefined,
    };
    system = await System.create(
      { rabbitmqUrl: inject('rabbitmqUrl'), brokerAdmin: inject('brokerAdmin'), databaseUrl: inject('databaseUrl'), access },
      'cluster',
      { LOG_LEVEL: 'info' },
      // A freshly formed cluster on a loaded machine can take a while to create the quorum queues.
      { vhost: own, readyTimeoutMs: 90_000 },
    );
    await system.startAll();
  }, 180_000);

  afterAll(async () => {
    if (process.env.E2E_LOGS && system) console.log(`--- what the services printed (cluster) ---\n${system.logs.since()}`);
    try {
      await system?.shutdown();
    } finally {
      await cluster?.destroy();
    }
  });

  it('when the node leading the busiest queues is SIGKILLed mid-stream and started again, then services move to live nodes and nothing is lost or done twice', async ({ onTestFailed }) => {
    const c = cluster as RabbitCluster;
    const s = system as System;
    onTestFailed(() => console.error(`--- what the services printed ---\n${s.logs.since()}`));

    // The nodes run troupe's advanced.config: a dead-lettered retry refused by a queue whose
    // leader is being elected is offered again after 5 s, not RabbitMQ's default 180 s.
    for (const node of c.nodes) {
      const { stdout } = await ctl(node, 'eval', 'application:get_env(rabbit, dead_letter_worker_publisher_confirm_timeout).');
      expect(stdout.trim(), `${node.name} dead-letter confirm timeout`).toBe('{ok,5000}');
    }

    // Every queue troupe declared is a quorum queue with a member on each node.
    const queues = await c.queues(c.nodes[0] as ClusterNode);
    expect(queues.filter((q) => SUBSCRIPTION_QUEUE.test(q.name))).toHaveLength(8);
    for (const q of queues) expect(q.members.sort(), `${q.name} members`).toEqual(c.nodes.map((n) => n.name).sort());

    const { node: victim, leads } = await busiestLeader(c);
    const survivor = c.nodes.find((n) => n !== victim) as ClusterNode;
    const before = await brokerNodes(s, c);
    console.log(`killing ${victim.name}: it leads ${leads.join(', ')}; services on it: ${SERVICES.filter((x) => before[x] === victim.name).join(', ') || 'none'}`);

    const poison = randomUUID();
    const injector = await TestBroker.connect(c.urlOf(survivor));
    await injector.publish('order.events', Buffer.from(`{"id":"${poison}", this is not json`), { messageId: poison, type: 'OrderPlaced' });
    await injector.close();

    const progress = new Progress(s.databaseUrl('order'));
    await progress.start();
    let killedAt = 0;
    let restartedAt = 0;
    let allReadyAfter = 0;
    let during: Record<Service, string | undefined> | undefined;
    const placed = await streamOrders(s, { perSecond: 25, durationMs: 12_000 }, async () => {
      await sleep(3_000);
      killedAt = Date.now();
      await c.kill(victim);
      // /readyz turns 200 again only once a service consumes every subscription on a live node.
      during = await eventually(
        async () => {
          const nodes = await brokerNodes(s, c);
          return SERVICES.every((x) => nodes[x] !== undefined && nodes[x] !== victim.name) && nodes;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: 'every service ready on a live node' },
      );
      allReadyAfter = Date.now() - killedAt;
      await sleep(Math.max(0, killedAt + 5_000 - Date.now()));
      restartedAt = Date.now();
      await c.restart(victim);
      console.log(`${victim.name} back in the cluster ${Date.now() - restartedAt} ms after its restart`);
    });
    expect(placed.length).toBe(300);

    const broker = await TestBroker.connect(c.urlOf(survivor));
    try {
      await expectAllInvariants(s, broker, placed, 1);
      const dead = await deadLetterRows(s, 'payment');
      expect(dead.map((m) => m.id)).toEqual([poison]);
    } finally {
      await broker.close();
      await progress.stop();
    }

    const pause = progress.firstProgressAfter(killedAt);
    const lastDone = progress.lastProgressAfter(killedAt);
    const stall = progress.longestStallBetween(killedAt, restartedAt);
    console.log(
      `node killed at +3 s of a 12 s stream: first order finished ${pause} ms after the kill; every service ready on a live node after ${allReadyAfter} ms; ` +
        `longest stretch with no order finishing while it was down ${stall} ms; last order finished ${lastDone} ms after the kill; orders finished per 5 s since the kill ${JSON.stringify(progress.finishedPer(killedAt, 5_000))}; services' nodes before ${JSON.stringify(before)}, while it was down ${JSON.stringify(during)}`,
    );
    expect(pause, 'orders kept finishing after the kill').toBeDefined();

    // Back to three members online for every queue once the node is up again.
    const everyNode = JSON.stringify(c.nodes.map((n) => n.name).sort());
    await eventually(async () => (await c.queues(survivor)).every((q) => JSON.stringify(q.online.sort()) === everyNode), {
      timeoutMs: 30_000,
      intervalMs: 500,
      what: 'every queue with all three members online',
    });
  });
});
