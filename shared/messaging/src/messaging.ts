import { ownExchangeOf, queueOf } from '@troupe/contracts';
import type { ChannelModel } from 'amqplib';
import { Registry } from 'prom-client';
import { BrokerConnection } from './broker/connection';
import { ConfirmPublisher } from './broker/publisher';
import { declareTopology, DEFAULT_DELIVERY_LIMIT } from './broker/topology';
import { BatchConsumer } from './consume/consume-batch';
import type { Delivery } from './consume/delivery';
import { FailedAttempts } from './consume/failed-attempts';
import { Settler } from './consume/settle';
import { SubscriptionConsumer } from './consume/subscription-consumer';
import { DeadLetters } from './dead-letters/dead-letters';
import { DeadLetterKeeper } from './dead-letters/keeper';
import { errorMessage } from './errors';
import { createMessagingMetrics, type MessagingMetrics } from './metrics';
import { databaseDependency } from './outages/database';
import { DATABASE } from './outages/failures';
import { Outages } from './outages/outages';
import { OutboxRelay } from './outbox/relay';
import type { MessagingOptions, MessagingStatus } from './options';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry-policy';
import { BatchQueue } from './unit-of-work/batch-queue';
import { unitOfWork, type RunUnitOfWork } from './unit-of-work/unit-of-work';

/**
 * A service's whole messaging side, wired together (src/README.md has the map): the connection
 * (re-declaring the topology and re-attaching every consumer on each reconnect), the consumers
 * feeding one batch queue, whose batches the batch consumer runs (triage → unit of work →
 * settle), the unit of work and the outbox relay it hands committed events to, the outages that
 * pause consumers, and the dead-letter keeper. It wires; no message passes through it.
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
  private readonly batches: BatchQueue<Delivery>;
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
    this.runUnitOfWork = unitOfWork(pool, service, this.relay);
    const settler = new Settler({ service, publisher: this.publisher, logger, metrics, retry: this.retry, failedAttempts: this.failedAttempts });
    this.outages = new Outages({
      dependencies: [databaseDependency(pool), ...(options.dependencies ?? [])],
      logger,
      metrics,
      // The relay backs off while the database is away too: end that at once.
      onBack: (dependency) => dependency === DATABASE && this.relay.resume(),
      ...(options.probeMaxDelayMs === undefined ? {} : { maxProbeDelayMs: options.probeMaxDelayMs }),
    });
    this.batches = new BatchQueue<Delivery>({
      concurrency: options.concurrency ?? 1,
      maxBatch: options.maxBatch ?? prefetch,
      spreadAfterMs: options.spreadAfterMs ?? 0,
      runner: new BatchConsumer({ logger, metrics, runUnitOfWork: this.runUnitOfWork, settler, outages: this.outages }),
      // Unreachable by design (every step settles what it takes); never let it escape a consume callback.
      onError: (error) => logger.error({ err: errorMessage(error) }, 'unexpected consumer failure'),
    });
    const onChannelLost = (reason: string) => this.recycle(reason);
    this.consumers = (options.subscriptions ?? []).map(
      (subscription) =>
        new SubscriptionConsumer(queueOf(service, subscription.exchange), subscription, {
          logger,
          metrics,
          prefetch,
          batches: this.batches,
          maxMessageBytes: options.maxMessageBytes ?? 65_536,
          onChannelLost,
          settler,
          ownExchange: ownExchangeOf(service),
        }),
    );
    this.outages.watch(this.consumers);
    this.keeper = new DeadLetterKeeper({ service, pool, logger: logger.child({ component: 'dead-letters' }), metrics, prefetch, onChannelLost, copier: settler });
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
      subscriptions: this.consumers.map((c) => ({
        queue: c.queue,
        exchange: c.subscription.exchange,
        consuming: c.consuming,
        unacked: c.unacked,
        ...(c.paused.length > 0 ? { pausedBy: c.paused } : {}),
      })),
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
    await this.batches.idle();
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
      deliveryLimit: this.options.deliveryLimit ?? DEFAULT_DELIVERY_LIMIT,
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
