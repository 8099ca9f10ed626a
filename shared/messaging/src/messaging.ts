import { deadLetterQueueOf, type ServiceName } from '@troupe/contracts';
import { connect, type ChannelModel, type RecoveringChannelModel } from 'amqplib';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { Registry } from 'prom-client';
import { BrokerAddresses } from './broker-addresses';
import { BatchRunner, SubscriptionConsumer, type Delivery, type Subscription } from './consumer';
import { Lanes } from './lanes';
import { DeadLetters } from './dead-letters';
import { BrokerUnavailableError, errorMessage } from './errors';
import { FailedAttempts } from './failed-attempts';
import { DATABASE } from './failures';
import { Outages, type Dependency } from './outage';
import { createMessagingMetrics, type MessagingMetrics } from './metrics';
import { runUnitOfWork, type UnitOfWork } from './outbox';
import { OutboxRelay } from './outbox-relay';
import { ConfirmPublisher } from './publisher';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy';
import { declareTopology } from './topology';

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
  /** Transactions in flight at once for the whole service; one order's messages stay in sequence. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Deliveries after which the broker itself dead-letters a message (crash-loop backstop). */
  deliveryLimit?: number;
  /** Give up (and call `onFatal`) when the broker has been unreachable this long. */
  giveUpAfterMs?: number;
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

export interface MessagingStatus {
  broker: boolean;
  /** Dependencies found away by the handlers, and for how long (see `Outages`). */
  dependencies: Record<string, { up: boolean; downForMs?: number }>;
  /** `host:port` of the broker node connected to (or being tried). */
  brokerNode: string | undefined;
  subscriptions: { queue: string; consuming: boolean; pausedBy?: string[] }[];
}

/**
 * A service's whole messaging side: one connection that recovers by itself (re-declaring the
 * topology and resuming every consumer on each reconnect), the consumers, and the outbox relay.
 */
export class Messaging {
  readonly metrics: MessagingMetrics;
  readonly registry: Registry;
  readonly relay: OutboxRelay;
  /** Every failed attempt at a message, by order (what the journey of an order shows). */
  readonly failedAttempts: FailedAttempts;
  private readonly publisher = new ConfirmPublisher();
  private readonly consumers: SubscriptionConsumer[];
  private readonly lanes: Lanes<Delivery>;
  private readonly retry: RetryPolicy;
  private readonly outages: Outages;
  private connection: RecoveringChannelModel | undefined;
  private current: ChannelModel | undefined;
  private addresses: BrokerAddresses | undefined;
  private disconnectedSince = Date.now();
  private stopping = false;

  constructor(private readonly options: MessagingOptions) {
    this.registry = options.registry ?? new Registry();
    this.metrics = createMessagingMetrics(this.registry);
    this.retry = options.retry ?? DEFAULT_RETRY_POLICY;
    this.failedAttempts = new FailedAttempts(options.pool);
    const prefetch = options.prefetch ?? 50;
    this.relay = new OutboxRelay({
      pool: options.pool,
      publisher: this.publisher,
      logger: options.logger.child({ component: 'outbox-relay' }),
      metrics: this.metrics,
      registry: this.registry,
      pollIntervalMs: options.outboxPollIntervalMs ?? 1000,
      sweepAfterMs: options.outboxSweepAfterMs ?? 5000,
    });
    const runner = new BatchRunner({ service: options.service, pool: options.pool, metrics: this.metrics, onCommitted: (events) => this.relay.dispatch(events) });
    this.lanes = new Lanes<Delivery>(
      options.concurrency ?? 1,
      options.maxBatch ?? prefetch,
      (batch) => runner.run(batch),
      // Unreachable by design (every path in run() catches); never let it escape a consume callback.
      (error) => options.logger.error({ err: errorMessage(error) }, 'unexpected consumer failure'),
    );
    this.consumers = (options.subscriptions ?? []).map(
      (subscription) =>
        new SubscriptionConsumer(subscription, {
          service: options.service,
          publisher: this.publisher,
          logger: options.logger,
          metrics: this.metrics,
          retry: this.retry,
          prefetch,
          lanes: this.lanes,
          deadLetterQueue: deadLetterQueueOf(options.service),
          failedAttempts: this.failedAttempts,
          onChannelLost: (queue, reason) => this.recycle(`${queue}: ${reason}`),
          onDependencyFailure: (dependency, consumer, error) => this.outages.report(dependency, consumer, error),
        }),
    );
    this.outages = new Outages({
      dependencies: [databaseDependency(options.pool), ...(options.dependencies ?? [])],
      consumers: this.consumers,
      logger: options.logger,
      metrics: this.metrics,
      // The relay backs off while the database is away too: end that at once.
      onBack: (dependency) => dependency === DATABASE && this.relay.resume(),
      ...(options.probeMaxDelayMs === undefined ? {} : { maxProbeDelayMs: options.probeMaxDelayMs }),
    });
    this.metrics.brokerConnected.set(0);
  }

  /** Starts connecting (in the background: the service serves HTTP and fills its outbox meanwhile). */
  async start(): Promise<void> {
    const { logger, url, heartbeatSeconds = 10, giveUpAfterMs = 300_000 } = this.options;
    this.disconnectedSince = Date.now();
    const addresses = new BrokerAddresses(url, heartbeatSeconds);
    this.addresses = addresses;
    this.connection = await connect(addresses.target, {
      // Nagle's algorithm holds small frames (acks, confirms, one message) up to ~40 ms waiting
      // for a delayed TCP ack: every hop of the workflow would pay it.
      noDelay: true,
      clientProperties: { connection_name: `${this.options.service}@${process.pid}` },
      recovery: {
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
        calculateDelay: (attempt: number) => {
          const down = Date.now() - this.disconnectedSince;
          if (down > giveUpAfterMs) throw new Error(`broker unreachable for ${Math.round(down / 1000)}s`);
          // Every failed attempt moves on to the next node; the backoff grows per round of the
          // cluster, so a dead node costs a fraction of a second when another one is alive.
          addresses.advance();
          const round = Math.ceil(attempt / addresses.size);
          const base = Math.min(5000, 100 * 2 ** Math.min(round, 10));
          return Math.round(base * (0.8 + 0.4 * Math.random()));
        },
      },
    });
    this.connection.on('disconnect', (error: Error) => this.onDisconnect(error));
    this.connection.on('connect-failed', (error: Error) =>
      logger.warn({ err: errorMessage(error), node: addresses.current }, 'cannot reach the broker yet; retrying'),
    );
    this.connection.on('reconnect-failed', (error: Error) => {
      logger.fatal({ err: errorMessage(error) }, 'giving up on the broker');
      this.options.onFatal(error);
    });
    this.connection.on('error', (error: Error) => logger.warn({ err: errorMessage(error) }, 'broker connection error'));
    this.connection.on('handler-error', (error: Error) => logger.error({ err: errorMessage(error) }, 'broker event handler threw'));
    this.connection.on('blocked', (reason: string) => logger.warn({ reason }, 'broker blocked publishing (resource alarm)'));
    this.relay.start();
  }

  /** Resolves once connected and consuming (tests and tools; services need not wait). */
  async ready(): Promise<void> {
    await this.connection?.waitForConnect();
  }

  /** Runs `work` in one transaction with the outbox; its events are published after commit. */
  transaction<R>(work: (uow: UnitOfWork) => Promise<R>): Promise<R> {
    return runUnitOfWork(this.options.pool, this.options.service, work, (events) => this.relay.dispatch(events));
  }

  status(): MessagingStatus {
    return {
      broker: this.current !== undefined && this.publisher.ready,
      dependencies: this.outages.status(),
      brokerNode: this.addresses?.current,
      subscriptions: this.consumers.map((c) => ({ queue: c.queue, consuming: c.consuming, ...(c.paused.length > 0 ? { pausedBy: c.paused } : {}) })),
    };
  }

  /** Runs `work` against this service's dead-letter queue on a channel of its own. */
  async deadLetters<R>(work: (dlq: DeadLetters) => Promise<R>): Promise<R> {
    const model = this.current;
    if (!model) throw new BrokerUnavailableError('not connected to the broker');
    const channel = await model.createConfirmChannel();
    channel.on('error', () => undefined);
    try {
      return await work(new DeadLetters(channel, this.options.service));
    } finally {
      await channel.close().catch(() => undefined);
    }
  }

  /** Stop consuming, finish the batches in hand, stop the relay, close the connection. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.outages.stop();
    await Promise.all(this.consumers.map((c) => c.cancel()));
    await this.lanes.idle();
    await Promise.all(this.consumers.map((c) => c.close()));
    await this.relay.stop();
    await this.connection?.close().catch(() => undefined);
    this.current = undefined;
    this.metrics.brokerConnected.set(0);
  }

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
    this.metrics.brokerConnected.set(1);
    logger.info({ node: this.addresses?.current, subscriptions: this.consumers.map((c) => c.queue) }, 'connected to the broker');
    this.relay.resume();
  }

  private onDisconnect(error: Error): void {
    this.disconnectedSince = Date.now();
    this.current = undefined;
    this.publisher.detach();
    for (const consumer of this.consumers) consumer.detach();
    this.metrics.brokerConnected.set(0);
    this.options.logger.warn({ err: errorMessage(error), node: this.addresses?.current }, 'lost the broker; reconnecting');
  }

  /** A channel died under a live connection: drop the connection so recovery rebuilds it all. */
  private recycle(reason: string): void {
    const model = this.current;
    if (!model || this.stopping) return;
    this.options.logger.warn({ reason }, 'recycling the broker connection');
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
