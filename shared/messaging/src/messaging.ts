import { deadLetterQueueOf, ownExchangeOf, queueOf, type ServiceChecks, type ServiceName } from '@troupe/contracts';
import type { ChannelModel } from 'amqplib';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { runBatch } from './consume/run-jobs';
import { BrokerConnection } from './broker/connection';
import { consumeBatch } from './consume/consume-batch';
import { DeadLetterKeeper } from './dead-letters/keeper';
import { DeadLetters } from './dead-letters/dead-letters';
import type { Delivery } from './consume/channel-acks';
import { BrokerUnavailableError, errorMessage } from './errors';
import { FailedAttempts } from './consume/failed-attempts';
import { DATABASE } from './outages/failures';
import type { Subscription } from './consume/handler';
import { Lanes } from './unit-of-work/batch-queue';
import { createMessagingMetrics, type MessagingMetrics } from './metrics';
import { OutboxRelay } from './outbox/relay';
import { Outages, type Dependency } from './outages/outages';
import { ConfirmPublisher } from './broker/publisher';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy';
import { Settler } from './consume/settle';
import { SubscriptionConsumer } from './consume/subscription-consumer';
import { declareTopology } from './broker/topology';
import { triage } from './consume/triage';
import { unitOfWork, type RunUnitOfWork } from './unit-of-work/unit-of-work';

export interface MessagingOptions {
  service: ServiceName;
  /** amqp(s):// URL of the broker, or of each node of a cluster, comma-separated (see `parseBrokerUrls`). */
  url: string;
  /** This service's database: the inbox and outbox live beside its own tables. */
  pool: Pool;
  logger: Logger;
  registry?: Registry;
  /** Everything this service consumes (see `subscribe`). */
  subscriptions?: readonly Subscription[];
  /** Unacked messages the broker may push to each consumer. */
  prefetch?: number;
  /** Most messages handled in one transaction (defaults to `prefetch`). */
  maxBatch?: number;
  /** Transactions in flight at most for the whole service; one order's messages stay in sequence. */
  concurrency?: number;
  /** How long the running transactions go without handling a message before another may start beside them (see `Lanes`; default 0). */
  spreadAfterMs?: number;
  retry?: RetryPolicy;
  /** Deliveries after which the broker itself dead-letters a message (crash-loop backstop). */
  deliveryLimit?: number;
  /** Give up (and call `onFatal`) when the broker has been unreachable this long. */
  giveUpAfterMs?: number;
  /** Longest wait for a publish's confirm; past it the broker counts as away (see `ConfirmPublisher`). */
  confirmTimeoutMs?: number;
  /** Largest message body handled; a bigger one is dead-lettered without being parsed (see `decodeWithin`). */
  maxMessageBytes?: number;
  /** AMQP heartbeat, so a dead TCP peer is noticed in seconds rather than minutes. */
  heartbeatSeconds?: number;
  /** Outbox relay safety-net poll interval. */
  outboxPollIntervalMs?: number;
  /** Age after which the safety-net poll takes an outbox row nobody published (see `OutboxRelay`). */
  outboxSweepAfterMs?: number;
  /**
   * What handlers need besides the broker and this service's database (which is always probed),
   * e.g. an SMTP server: on a `DependencyError` naming one, the subscriptions that hit it pause
   * until its probe passes (decision 0009).
   */
  dependencies?: readonly Dependency[];
  /** Longest wait between two probes of a dependency that is away. */
  probeMaxDelayMs?: number;
  /** Called once when reconnecting has been given up: the process should exit non-zero. */
  onFatal: (error: Error) => void;
}

/**
 * The broker's side of a service's readiness (GET /readyz's checks, less the database): whether
 * it is connected and to which node, the dependencies found away by the handlers and for how
 * long (see `Outages`), and each subscription. Typed from the contract the answer is published with.
 */
export type MessagingStatus = Omit<ServiceChecks, 'database'>;

/**
 * A service's whole messaging side, wired together: the connection (re-declaring the topology and
 * re-attaching every consumer on each reconnect), the consumers feeding the lanes, each batch
 * consumed (triage → unit of work → settle), the unit of work and the outbox relay it hands
 * committed events to, and the outages that pause consumers.
 */
export class Messaging {
  readonly metrics: MessagingMetrics;
  readonly registry: Registry;
  private readonly relay: OutboxRelay;
  /** BEGIN; work; its events to the outbox; COMMIT; the events to the relay (see `unitOfWork`). */
  readonly runUnitOfWork: RunUnitOfWork;
  /** Every failed attempt at a message, by order (what the journey of an order shows). */
  readonly failedAttempts: FailedAttempts;
  private readonly publisher: ConfirmPublisher;
  private readonly connection: BrokerConnection;
  private readonly consumers: SubscriptionConsumer[];
  private readonly lanes: Lanes<Delivery>;
  private readonly retry: RetryPolicy;
  private readonly outages: Outages;
  private readonly keeper: DeadLetterKeeper;
  private current: ChannelModel | undefined;
  private stopping = false;

  constructor(private readonly options: MessagingOptions) {
    const { service, pool, logger } = options;
    this.registry = options.registry ?? new Registry();
    const metrics = (this.metrics = createMessagingMetrics(this.registry));
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.failedAttempts = new FailedAttempts(pool);
    const prefetch = options.prefetch ?? 50;
    this.publisher = new ConfirmPublisher({
      confirmTimeoutMs: options.confirmTimeoutMs ?? 10_000,
      onStalled: (reason) => logger.warn({ reason }, 'the broker is not confirming; publishing paused until it does'),
      onRecovered: () => {
        logger.info('the broker confirms again; publishing resumed');
        this.relay.resume();
      },
    });
    this.relay = new OutboxRelay({
      pool,
      publisher: this.publisher,
      logger: logger.child({ component: 'outbox-relay' }),
      metrics,
      registry: this.registry,
      pollIntervalMs: options.outboxPollIntervalMs ?? 1000,
      sweepAfterMs: options.outboxSweepAfterMs ?? 5000,
    });
    this.runUnitOfWork = unitOfWork(pool, service, (events) => this.relay.dispatch(events));
    const isCurrent = (delivery: Delivery) => this.consumers.some((c) => c.queue === delivery.queue && c.isCurrent(delivery));
    const settler = new Settler({ service, publisher: this.publisher, logger, metrics, retry: this.retry, failedAttempts: this.failedAttempts, isCurrent });
    this.lanes = new Lanes<Delivery>(
      options.concurrency ?? 1,
      options.maxBatch ?? prefetch,
      (batch, moved) =>
        consumeBatch(batch, {
          isCurrent,
          triage: (delivery) => triage(delivery, { logger, metrics }),
          run: (jobs) => runBatch(jobs, { runUnitOfWork: this.runUnitOfWork, metrics, moved }),
          settler,
          reportOutage: (dependency, queue, error) => this.outages.report(dependency, queue, error),
        }),
      // Unreachable by design (every step settles what it takes); never let it escape a consume callback.
      (error) => logger.error({ err: errorMessage(error) }, 'unexpected consumer failure'),
      options.spreadAfterMs ?? 0,
    );
    this.consumers = (options.subscriptions ?? []).map(
      (subscription) =>
        new SubscriptionConsumer(queueOf(service, subscription.exchange), subscription, {
          logger,
          metrics,
          prefetch,
          maxMessageBytes: options.maxMessageBytes ?? 65_536,
          lanes: this.lanes,
          onChannelLost: (reason) => this.recycle(reason),
          handBack: (delivery) => settler.handBack(delivery),
          ownExchange: ownExchangeOf(service),
        }),
    );
    this.keeper = new DeadLetterKeeper({
      service,
      pool,
      logger: logger.child({ component: 'dead-letters' }),
      metrics,
      prefetch,
      onChannelLost: (reason) => this.recycle(reason),
      copyBack: (message) => settler.copyBack(message, deadLetterQueueOf(service)),
    });
    this.outages = new Outages({
      dependencies: [databaseDependency(pool), ...(options.dependencies ?? [])],
      consumers: this.consumers,
      logger,
      metrics,
      // The relay backs off while the database is away too: end that at once.
      onBack: (dependency) => dependency === DATABASE && this.relay.resume(),
      ...(options.probeMaxDelayMs === undefined ? {} : { maxProbeDelayMs: options.probeMaxDelayMs }),
    });
    this.connection = new BrokerConnection({
      url: options.url,
      name: `${service}@${process.pid}`,
      logger,
      heartbeatSeconds: options.heartbeatSeconds ?? 10,
      giveUpAfterMs: options.giveUpAfterMs ?? 300_000,
      setup: (model) => this.setup(model),
      onDisconnect: (error) => this.onDisconnect(error),
      onFatal: (error) => options.onFatal(error),
    });
    metrics.brokerConnected.set(0);
  }

  /** Starts connecting (in the background: the service serves HTTP and fills its outbox meanwhile). */
  async start(): Promise<void> {
    await this.connection.open();
    this.relay.start();
  }

  /** Resolves once connected and consuming (tests and tools; services need not wait). */
  async ready(): Promise<void> {
    await this.connection.connected();
  }

  status(): MessagingStatus {
    return {
      broker: this.current !== undefined && this.publisher.ready,
      dependencies: this.outages.status(),
      brokerNode: this.connection.node,
      subscriptions: this.consumers.map((c) => ({ queue: c.queue, consuming: c.consuming, ...(c.paused.length > 0 ? { pausedBy: c.paused } : {}) })),
    };
  }

  /**
   * Runs `work` against this service's dead letters (in its database; a replay publishes with the
   * service's confirmed publisher and fails with `BrokerUnavailableError` while it is away).
   */
  async deadLetters<R>(work: (dlq: DeadLetters) => Promise<R>): Promise<R> {
    return work(new DeadLetters(this.options.pool, this.options.service, this.publisher));
  }

  /** Stop consuming, finish the batches in hand, stop the relay, close the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.outages.stop();
    await Promise.all(this.consumers.map((c) => c.cancel()));
    await this.lanes.idle();
    await Promise.all(this.consumers.map((c) => c.close()));
    await this.keeper.stop();
    await this.relay.stop();
    await this.connection.close();
    this.current = undefined;
    this.metrics.brokerConnected.set(0);
  }

  /** On every (re)connect: the topology, the publish channel, every consumer. */
  private async setup(model: ChannelModel): Promise<void> {
    const { logger, service } = this.options;
    const channel = await model.createConfirmChannel();
    channel.on('error', (error: Error) => logger.error({ err: error.message }, 'publish channel error'));
    channel.on('close', () => {
      if (this.current === model && !this.stopping) this.recycle('publish channel closed');
    });
    await declareTopology(channel, {
      service,
      subscribedExchanges: this.consumers.map((c) => c.subscription.exchange),
      retry: this.retry,
      deliveryLimit: this.options.deliveryLimit ?? 10,
    });
    this.publisher.attach(channel);
    this.current = model;
    for (const consumer of this.consumers) await consumer.attach(model);
    await this.keeper.attach(model);
    this.metrics.brokerConnected.set(1);
    logger.info({ node: this.connection.node, subscriptions: this.consumers.map((c) => c.queue) }, 'connected to the broker');
    this.relay.resume();
  }

  private onDisconnect(error: Error): void {
    this.current = undefined;
    this.publisher.detach();
    for (const consumer of this.consumers) consumer.detach();
    this.keeper.detach();
    this.metrics.brokerConnected.set(0);
    this.options.logger.warn({ err: errorMessage(error), node: this.connection.node }, 'lost the broker; reconnecting');
  }

  /** A channel died under a live connection: drop the connection so recovery rebuilds it all. */
  private recycle(reason: string): void {
    const model = this.current;
    if (!model || this.stopping) return;
    this.options.logger.warn({ reason }, 'recycling the broker connection');
    // Acks still waiting for the end of this turn go out first, on the channels that still live.
    for (const consumer of this.consumers) consumer.flushAcks();
    model.close().catch(() => undefined);
  }
}

/**
 * The service's own database, as handlers need it: reachable, a connection to spare, and
 * writable (a server in recovery or a read-only database answers SELECT 1 but refuses every write).
 */
function databaseDependency(pool: Pool): Dependency {
  return {
    name: DATABASE,
    scope: 'all',
    probe: async () => {
      const { rows } = await pool.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
      if (rows[0]?.ro !== 'off') throw new Error('database is read-only');
    },
  };
}
