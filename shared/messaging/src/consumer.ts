import { decodeEvent, ownExchangeOf, queueOf, type AnyEvent, type DecodeResult, type EventType, type ServiceName, type TypedEvent } from '@troupe/contracts';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from './errors';
import { BROKER, classifyFailure } from './failures';
import { copyHeaders, forwardOptions, HEADER, numberHeader, stringHeader, type DeadLetterReason } from './headers';
import type { FailedAttempt, FailedAttempts } from './failed-attempts';
import type { MessagingMetrics } from './metrics';
import { runUnitOfWork, type StagedEvent, type UnitOfWork } from './outbox';
import type { ConfirmPublisher } from './publisher';
import type { Lanes } from './lanes';
import { jitteredDelay, retryDelays, waitQueueName, type RetryPolicy } from './retry-policy';
import { context, endSpan, startProcessSpan } from './tracing';
import type { Span, Context } from '@opentelemetry/api';

/** What a handler gets besides its event: the transaction, the outbox, a logger bound to the message. */
export interface HandlerContext extends UnitOfWork {
  readonly log: Logger;
  /** 1 on the first delivery, 2 on the first retry, … */
  readonly attempt: number;
}

/**
 * The handler contract: return and the message is done (its effects and the events it published
 * commit together, then it is acked); throw and it is retried with backoff on this consumer's own
 * queue, or dead-lettered at once if the error is a `PermanentError`.
 */
export type Handler<T extends EventType> = (event: TypedEvent<T>, ctx: HandlerContext) => Promise<void>;
export type HandlerMap = { [T in EventType]?: Handler<T> };

/** One subscription: the exchange it listens to and the handler for each event type it cares about. */
export interface Subscription {
  exchange: string;
  handlers: HandlerMap;
}

export const subscribe = (exchange: string, handlers: HandlerMap): Subscription => ({ exchange, handlers });

export interface ConsumerDeps {
  service: ServiceName;
  publisher: ConfirmPublisher;
  logger: Logger;
  metrics: MessagingMetrics;
  retry: RetryPolicy;
  prefetch: number;
  /**
   * Where deliveries wait to be handled: shared by every subscription of the service and keyed
   * by orderId, so all of one order's messages, whichever queue they came from, are handled one
   * after the other, while other orders' run in parallel (see `BatchRunner`).
   */
  lanes: Lanes<Delivery>;
  deadLetterQueue: string;
  /** Where each failed attempt is recorded once the message has been moved on. */
  failedAttempts: FailedAttempts;
  /** This consumer's channel died while the connection lives on: recycle the connection. */
  onChannelLost: (queue: string, reason: string) => void;
  /** A message failed because `dependency` is away: pause what it affects (see `Outages`). */
  onDependencyFailure: (dependency: string, consumer: SubscriptionConsumer, error: unknown) => void;
}

export interface Delivery {
  message: ConsumeMessage;
  channel: Channel;
  decoded: DecodeResult;
  consumer: SubscriptionConsumer;
}

interface Job {
  consumer: SubscriptionConsumer;
  delivery: Delivery;
  event: AnyEvent;
  handler: Handler<EventType>;
  attempt: number;
  span: Span;
  ctx: Context;
  log: Logger;
  started: number;
}

type Outcome = { kind: 'processed' } | { kind: 'duplicate' } | { kind: 'failed'; error: unknown };

/**
 * Consumes one queue: takes its messages off the broker into the service's lanes, and settles
 * each one (ack, retry, dead-letter) once `BatchRunner` has handled it.
 */
export class SubscriptionConsumer {
  readonly queue: string;
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private stopping = false;
  /** Dependencies whose outage keeps this subscription from consuming (see `Outages`). */
  private readonly pausedBy = new Set<string>();

  constructor(
    readonly subscription: Subscription,
    private readonly deps: ConsumerDeps,
  ) {
    this.queue = queueOf(deps.service, subscription.exchange);
    deps.metrics.consumerUp.set({ queue: this.queue }, 0);
  }

  get consuming(): boolean {
    return this.consumerTag !== undefined && this.channel !== undefined;
  }

  get paused(): string[] {
    return [...this.pausedBy];
  }

  async attach(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.deps.logger.error({ err: error.message, queue: this.queue }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.channel = undefined;
      this.consumerTag = undefined;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
      // Prefetched messages not yet handled go back to the queue with the channel.
      this.deps.lanes.remove((d) => d.channel === channel);
      if (!this.stopping) this.deps.onChannelLost(this.queue, 'channel closed');
    });
    await channel.prefetch(this.deps.prefetch);
    this.channel = channel;
    if (this.pausedBy.size === 0) await this.consume(channel);
  }

  private async consume(channel: Channel): Promise<void> {
    const { consumerTag } = await channel.consume(this.queue, (message) => this.onMessage(channel, message), {
      noAck: false,
    });
    this.consumerTag = consumerTag;
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 1);
  }

  /**
   * Stop taking messages while `dependency` is away: cancel the consumer and hand back what was
   * taken but not started, without spending an attempt. Batches in hand finish (or fail the same
   * way and are handed back too). The channel stays open, so resuming is one `basic.consume`.
   */
  async pause(dependency: string): Promise<void> {
    this.pausedBy.add(dependency);
    const { channel, consumerTag } = this;
    if (!channel || consumerTag === undefined) return;
    this.consumerTag = undefined;
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
    await channel.cancel(consumerTag).catch(() => undefined);
    for (const delivery of this.deps.lanes.remove((d) => d.consumer === this)) requeue(delivery.channel, delivery.message);
  }

  async resume(dependency: string): Promise<void> {
    this.pausedBy.delete(dependency);
    const channel = this.channel;
    if (this.pausedBy.size > 0 || this.stopping || !channel || this.consumerTag !== undefined) return;
    // A lost channel is rebuilt by the connection's recovery, which consumes again (see `attach`).
    await this.consume(channel).catch((error: unknown) =>
      this.deps.logger.warn({ err: errorMessage(error), queue: this.queue }, 'could not resume consuming; waiting for the connection to recover'),
    );
  }

  /** Connection lost: nothing to cancel, in-flight acks will fail and the broker redelivers. */
  detach(): void {
    this.channel = undefined;
    this.consumerTag = undefined;
    this.deps.lanes.remove((d) => d.consumer === this);
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
  }

  /** Stop taking messages; what was taken but not started goes back to the broker. */
  async cancel(): Promise<void> {
    this.stopping = true;
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    this.consumerTag = undefined;
    this.deps.lanes.remove((d) => d.consumer === this);
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
  }

  /** After the batches in hand have finished (see `Messaging.stop`). */
  async close(): Promise<void> {
    await this.channel?.close().catch(() => undefined);
  }

  /** Whether `delivery` came on the channel we still consume on (else the broker redelivers it). */
  owns(delivery: Delivery): boolean {
    return delivery.channel === this.channel;
  }

  private onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): redeclare everything.
      this.consumerTag = undefined;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
      if (!this.stopping) this.deps.onChannelLost(this.queue, 'consumer cancelled by the broker');
      return;
    }
    if (this.stopping) return; // not acked: requeued when the channel closes
    // Sent before the broker saw our cancel: straight back, untouched.
    if (this.pausedBy.size > 0) return requeue(channel, message);
    const decoded = decodeEvent(message.content);
    this.deps.lanes.push({ message, channel, decoded, consumer: this }, decoded.ok ? decoded.event.orderId : undefined);
  }

  /** Decode and route; poison goes to the DLQ, events nobody here handles are acked and counted. */
  async prepare(delivery: Delivery): Promise<Job | undefined> {
    const { message, decoded } = delivery;
    if (!decoded.ok) {
      if (decoded.unknownType !== undefined) {
        this.ack(delivery);
        this.deps.metrics.consumed.inc({ queue: this.queue, type: 'unknown', outcome: 'ignored' });
        return undefined;
      }
      this.deps.logger.warn({ queue: this.queue, messageId: message.properties.messageId, reason: decoded.reason }, 'poison message');
      await this.deadLetter(delivery, 'poison', decoded.reason, 'unknown');
      return undefined;
    }
    const event = decoded.event;
    const handler = this.subscription.handlers[event.type] as Handler<EventType> | undefined;
    if (!handler) {
      this.ack(delivery);
      this.deps.metrics.consumed.inc({ queue: this.queue, type: event.type, outcome: 'ignored' });
      return undefined;
    }
    const attempt = numberHeader(message.properties, HEADER.attempt) ?? 1;
    if (attempt === 1 && numberHeader(message.properties, HEADER.replayCount) !== undefined) {
      this.deps.metrics.replayed.inc({ queue: this.queue });
    }
    const { span, ctx } = startProcessSpan(message.properties.headers, this.queue, event.id, event.type, attempt);
    span.setAttribute('troupe.order_id', event.orderId);
    const log = this.deps.logger.child({ queue: this.queue, eventId: event.id, type: event.type, orderId: event.orderId, attempt });
    return { consumer: this, delivery, event, handler, attempt, span, ctx, log, started: performance.now() };
  }

  async settle(job: Job, outcome: Outcome): Promise<void> {
    const { metrics } = this.deps;
    const labels = { queue: this.queue, type: job.event.type };
    metrics.handlerDuration.observe(labels, (performance.now() - job.started) / 1000);
    if (outcome.kind === 'failed') {
      await this.fail(job, outcome.error);
      endSpan(job.span, outcome.error);
      return;
    }
    this.ack(job.delivery);
    if (outcome.kind === 'duplicate') {
      metrics.duplicates.inc({ queue: this.queue });
      job.span.setAttribute('troupe.duplicate', true);
      job.log.info('duplicate delivery: already processed, acked with no effect');
    }
    metrics.consumed.inc({ ...labels, outcome: outcome.kind });
    endSpan(job.span);
  }

  private async fail(job: Job, error: unknown): Promise<void> {
    const { retry, metrics } = this.deps;
    const labels = { queue: this.queue, type: job.event.type };
    const failure = classifyFailure(error);
    if (failure.kind === 'dependency') {
      // Not the message's fault: back to its queue as it came, this attempt not counted. The
      // broker's own recovery handles its outages; any other dependency pauses the subscription.
      job.log.debug({ err: errorMessage(error), dependency: failure.dependency }, 'dependency unavailable; message handed back');
      job.span.addEvent('dependency unavailable', { 'troupe.dependency': failure.dependency });
      if (failure.dependency !== BROKER) this.deps.onDependencyFailure(failure.dependency, this, error);
      requeue(job.delivery.channel, job.delivery.message);
      metrics.consumed.inc({ ...labels, outcome: 'requeued' });
      return;
    }
    if (failure.kind === 'permanent' || job.attempt >= retry.maxAttempts) {
      const reason: DeadLetterReason = failure.kind === 'permanent' ? 'permanent' : 'exhausted';
      job.log.error({ err: errorMessage(error), reason }, 'handler failed; dead-lettering');
      const sent = await this.deadLetter(job.delivery, reason, errorMessage(error), job.event.type, job.attempt);
      if (sent) await this.recordFailure(job, error, { outcome: 'dead-lettered', deadLetterReason: reason });
      return;
    }
    const delay = retryDelays(retry)[job.attempt - 1] ?? retry.baseDelayMs;
    job.log.warn({ err: errorMessage(error), retryInMs: delay }, 'handler failed; will retry');
    job.span.addEvent('retry scheduled', { 'troupe.retry_delay_ms': delay });
    const sent = await this.republish(job.delivery, waitQueueName(this.queue, delay), {
      [HEADER.attempt]: job.attempt + 1,
      [HEADER.error]: truncate(errorMessage(error)),
    }, String(jitteredDelay(delay)));
    if (sent) {
      metrics.retried.inc(labels);
      metrics.consumed.inc({ ...labels, outcome: 'retried' });
      await this.recordFailure(job, error, { outcome: 'retried', retryDelayMs: delay });
    }
  }

  /**
   * Keeps the attempt that just failed, for the order's journey: the broker forgets it once a
   * retry succeeds. The message has already moved on, so a record that cannot be written is
   * logged and given up, never retried.
   */
  private async recordFailure(job: Job, error: unknown, outcome: Pick<FailedAttempt, 'outcome' | 'retryDelayMs' | 'deadLetterReason'>): Promise<void> {
    try {
      await this.deps.failedAttempts.record({
        queue: this.queue,
        eventId: job.event.id,
        eventType: job.event.type,
        orderId: job.event.orderId,
        replay: numberHeader(job.delivery.message.properties, HEADER.replayCount) ?? 0,
        attempt: job.attempt,
        errorName: error instanceof Error ? error.name : 'Error',
        error: truncate(error instanceof Error ? error.message : String(error)),
        ...outcome,
      });
    } catch (recordError) {
      job.log.warn({ err: errorMessage(recordError) }, 'could not record the failed attempt');
    }
  }

  private async deadLetter(
    delivery: Delivery,
    reason: DeadLetterReason,
    error: string,
    type: string,
    attempts = numberHeader(delivery.message.properties, HEADER.attempt) ?? 1,
  ): Promise<boolean> {
    const sent = await this.republish(delivery, this.deps.deadLetterQueue, {
      [HEADER.attempt]: attempts,
      [HEADER.deadLetterReason]: reason,
      [HEADER.error]: truncate(error),
    });
    if (sent) {
      this.deps.metrics.deadLettered.inc({ queue: this.queue, reason });
      this.deps.metrics.consumed.inc({ queue: this.queue, type, outcome: 'dead_lettered' });
    }
    return sent;
  }

  /**
   * Sends a copy straight to one queue (a wait queue or the DLQ, through the service's own
   * exchange: never back to the fanout exchange, which would hand it to every other subscriber again),
   * waits for the confirm, then acks the original. If the copy cannot be confirmed the original
   * is not acked, so the broker keeps it: nothing is lost, at worst it is seen again.
   */
  private async republish(
    delivery: Delivery,
    queue: string,
    extra: Record<string, unknown>,
    expiration?: string,
  ): Promise<boolean> {
    const { message } = delivery;
    const now = new Date().toISOString();
    const headers = copyHeaders(message.properties);
    const options = forwardOptions(message.properties, {
      ...headers,
      [HEADER.originalExchange]: stringHeader(message.properties, HEADER.originalExchange) ?? message.fields.exchange,
      [HEADER.originalQueue]: this.queue,
      [HEADER.firstFailureAt]: stringHeader(message.properties, HEADER.firstFailureAt) ?? now,
      [HEADER.lastFailureAt]: now,
      ...extra,
    });
    if (expiration) options.expiration = expiration;
    try {
      await this.deps.publisher.publish(ownExchangeOf(this.deps.service), queue, message.content, options);
      this.ack(delivery);
      return true;
    } catch (error) {
      this.deps.logger.error({ err: errorMessage(error), queue: this.queue, to: queue }, 'could not move message; leaving it on the queue');
      requeue(delivery.channel, message);
      return false;
    }
  }

  private ack(delivery: Delivery): void {
    try {
      delivery.channel.ack(delivery.message);
    } catch {
      // The channel closed after the work committed: the broker redelivers, the inbox skips it.
    }
  }
}

/** Back to the head of its queue; a closed channel has already handed it back. */
function requeue(channel: Channel, message: ConsumeMessage): void {
  try {
    channel.nack(message, false, true);
  } catch {
    // channel gone: the broker requeues it anyway
  }
}

const truncate = (text: string, max = 1000): string => (text.length > max ? `${text.slice(0, max)}…` : text);

export interface BatchRunnerDeps {
  service: ServiceName;
  pool: Pool;
  metrics: MessagingMetrics;
  /** These events were committed to the outbox: publish them now. */
  onCommitted: (events: StagedEvent[]) => void;
}

/**
 * Handles a batch of deliveries (from any of the service's queues) in one transaction: the inbox
 * rows (one statement for all), the handlers' effects and their outbox rows commit at once, and
 * only then is each message settled by its consumer.
 *
 * If a handler throws, the transaction rolls back, that message is settled as failed (retried or
 * dead-lettered), and the rest of the batch runs again without it: one failure never sinks the
 * others, and the happy path pays no savepoint round trips. A handler that ran before the failing
 * one runs twice, so its effects outside the database must be idempotent, as they must be anyway
 * (a crash between an external call and the commit repeats it too).
 */
export class BatchRunner {
  constructor(private readonly deps: BatchRunnerDeps) {}

  async run(batch: Delivery[]): Promise<void> {
    const jobs: Job[] = [];
    for (const delivery of batch) {
      // A message from a channel that has since closed will be redelivered: do not handle it twice.
      if (!delivery.consumer.owns(delivery)) continue;
      const job = await delivery.consumer.prepare(delivery);
      if (job) jobs.push(job);
    }
    if (jobs.length === 0) return;
    this.deps.metrics.batchSize.observe(jobs.length);
    // Handlers lock rows by order (the order, its payment, …). Taking the batch in orderId order
    // gives every transaction the same lock order, so two batches never deadlock. The sort is
    // stable: one order's events keep their arrival order.
    jobs.sort((a, b) => (a.event.orderId < b.event.orderId ? -1 : a.event.orderId > b.event.orderId ? 1 : 0));
    const outcomes = new Map<Job, Outcome>();
    let pending = jobs;
    while (pending.length > 0) {
      // A message alone in its transaction: its trace shows the whole transaction (BEGIN, inbox,
      // outbox, COMMIT); in a shared one, only what its own handler did.
      const only = pending.length === 1 ? pending[0]! : undefined;
      const attempt = await (only ? context.with(only.ctx, () => this.attempt(pending)) : this.attempt(pending));
      if (attempt.ok) {
        pending.forEach((job, i) => outcomes.set(job, attempt.outcomes[i]!));
        break;
      }
      const { failed, error } = attempt;
      if (failed === undefined || classifyFailure(error).kind === 'dependency') {
        // The transaction itself failed (database gone, say), or a dependency every message would
        // meet again is away: the whole batch goes back, none of it charged an attempt.
        for (const job of pending) outcomes.set(job, { kind: 'failed', error });
        break;
      }
      outcomes.set(failed, { kind: 'failed', error });
      pending = pending.filter((job) => job !== failed);
    }
    await Promise.all(jobs.map((job) => job.consumer.settle(job, outcomes.get(job) ?? { kind: 'failed', error: 'no outcome' })));
  }

  private async attempt(
    jobs: Job[],
  ): Promise<{ ok: true; outcomes: Outcome[] } | { ok: false; failed: Job | undefined; error: unknown }> {
    let running: Job | undefined;
    try {
      // One unit of work for the whole batch: the inbox rows, every handler's effects and the
      // events they publish commit together, like any other use case's (runUnitOfWork).
      const outcomes = await runUnitOfWork(
        this.deps.pool,
        this.deps.service,
        async (uow) => {
          const fresh = await claimInbox(uow.db, jobs);
          const results: Outcome[] = [];
          for (const [i, job] of jobs.entries()) {
            if (!fresh[i]) {
              results.push({ kind: 'duplicate' });
              continue;
            }
            running = job;
            await context.with(job.ctx, () => job.handler(job.event, { ...uow, log: job.log, attempt: job.attempt }));
            running = undefined;
            results.push({ kind: 'processed' });
          }
          return results;
        },
        this.deps.onCommitted,
      );
      return { ok: true, outcomes };
    } catch (error) {
      return { ok: false, failed: running, error };
    }
  }
}

/**
 * Records the jobs' events in the inbox in one statement; for each job, whether it is new (false:
 * this consumer has processed that event before, or it appears earlier in the same batch).
 */
async function claimInbox(db: PoolClient, jobs: readonly Job[]): Promise<boolean[]> {
  const { rows } = await db.query<{ consumer: string; event_id: string }>({
    name: 'troupe-inbox-claim',
    text: `INSERT INTO troupe_inbox (consumer, event_id)
     SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING
     RETURNING consumer, event_id`,
    values: [jobs.map((j) => j.consumer.queue), jobs.map((j) => j.event.id)],
  });
  const inserted = new Set(rows.map((r) => `${r.consumer} ${r.event_id}`));
  return jobs.map((job) => inserted.delete(`${job.consumer.queue} ${job.event.id.toLowerCase()}`));
}
