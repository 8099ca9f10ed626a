import { deadLetterQueueOf, ownExchangeOf, type ServiceName } from '@troupe/contracts';
import type { Logger } from 'pino';
import type { Message } from 'amqplib';
import type { ConfirmPublisher } from '../broker/publisher';
import { errorMessage } from '../errors';
import { copyHeaders, forwardOptions, HEADER, numberHeader, stringHeader, type DeadLetterReason } from '../headers';
import type { MessagingMetrics } from '../metrics';
import { classifyFailure } from '../outages/failures';
import { jitteredDelay, retryDelays, waitQueueName, type RetryPolicy } from '../retry-policy';
import { endSpan } from '../tracing';
import type { Delivery } from './delivery';
import type { FailedAttempt, FailedAttempts } from './failed-attempts';
import type { JobResult } from './run-jobs';
import type { Job } from './triage';

export interface SettlerDeps {
  service: ServiceName;
  publisher: ConfirmPublisher;
  logger: Logger;
  metrics: MessagingMetrics;
  retry: RetryPolicy;
  /** Where each failed attempt is recorded once the message has been moved on. */
  failedAttempts: FailedAttempts;
}

/**
 * Tries of one message that a dependency failed, after which its failure counts as its own (an
 * attempt spent): a message that meets a dependency every time while the dependency's probe
 * passes (a query that always times out, say) must not go round for ever.
 */
export const MAX_HAND_BACKS = 100;

/**
 * Settles each message with the broker once it is known how its job ended: ack (done, a
 * duplicate, or ignored), retry on its own queue through the wait queues, dead-letter, or hand
 * back untouched when a dependency was away. It counts the outcome and ends the message's span.
 * Acks and requeues go through the acks of the channel the message came on (`Delivery.acks`).
 */
export class Settler {
  private readonly deadLetterQueue: string;
  private readonly ownExchange: string;

  constructor(private readonly deps: SettlerDeps) {
    this.deadLetterQueue = deadLetterQueueOf(deps.service);
    this.ownExchange = ownExchangeOf(deps.service);
  }

  /** An event nobody here handles: acked and counted. */
  ignore(delivery: Delivery, type: string): void {
    ack(delivery);
    this.deps.metrics.consumed.inc({ queue: delivery.queue, type, outcome: 'ignored' });
  }

  /** Poison goes to the DLQ at once. */
  async poison(delivery: Delivery, reason: string): Promise<void> {
    this.deps.logger.warn({ queue: delivery.queue, messageId: delivery.message.properties.messageId, reason }, 'poison message');
    await this.deadLetter(delivery, 'poison', reason, 'unknown');
  }

  /** Settles a job that ran. */
  async settle(job: Job, result: JobResult): Promise<void> {
    const { metrics } = this.deps;
    const labels = { queue: job.delivery.queue, type: job.event.type };
    metrics.handlerDuration.observe(labels, (performance.now() - job.started) / 1000);
    if (result.kind === 'failed') {
      await this.fail(job, result.error);
      endSpan(job.span, result.error);
      return;
    }
    ack(job.delivery);
    if (result.kind === 'duplicate') {
      metrics.duplicates.inc({ queue: job.delivery.queue });
      job.span.setAttribute('troupe.duplicate', true);
      job.log.info('duplicate delivery: already processed, acked with no effect');
    }
    metrics.consumed.inc({ ...labels, outcome: result.kind });
    endSpan(job.span);
  }

  private async fail(job: Job, error: unknown): Promise<void> {
    const { retry, metrics } = this.deps;
    const { delivery } = job;
    const labels = { queue: delivery.queue, type: job.event.type };
    const failure = classifyFailure(error);
    const handBacks = numberHeader(delivery.message.properties, HEADER.handBacks) ?? 0;
    if (failure.kind === 'dependency' && handBacks < MAX_HAND_BACKS) {
      // Not the message's fault: back to its queue as it came, this attempt not counted.
      job.log.debug({ err: errorMessage(error), dependency: failure.dependency }, 'dependency unavailable; message handed back');
      job.span.addEvent('dependency unavailable', { 'troupe.dependency': failure.dependency });
      await this.handBack(delivery, handBacks + 1);
      metrics.consumed.inc({ ...labels, outcome: 'requeued' });
      return;
    }
    if (failure.kind === 'dependency') {
      job.log.warn({ err: errorMessage(error), handBacks }, 'a dependency failed this message every time it was tried; counted as its own failure');
    }
    if (failure.kind === 'permanent' || job.attempt >= retry.maxAttempts) {
      const reason: DeadLetterReason = failure.kind === 'permanent' ? 'permanent' : 'exhausted';
      job.log.error({ err: errorMessage(error), reason }, 'handler failed; dead-lettering');
      const sent = await this.deadLetter(delivery, reason, errorMessage(error), job.event.type, job.attempt, error instanceof Error ? error.name : undefined);
      if (sent) await this.recordFailure(job, error, { outcome: 'dead-lettered', deadLetterReason: reason });
      return;
    }
    const delay = retryDelays(retry)[job.attempt - 1] ?? retry.baseDelayMs;
    job.log.warn({ err: errorMessage(error), retryInMs: delay }, 'handler failed; will retry');
    job.span.addEvent('retry scheduled', { 'troupe.retry_delay_ms': delay });
    const sent = await this.republish(
      delivery,
      waitQueueName(delivery.queue, delay),
      { [HEADER.attempt]: job.attempt + 1, [HEADER.error]: truncate(errorMessage(error)) },
      String(jitteredDelay(delay)),
    );
    if (sent) {
      metrics.retried.inc(labels);
      metrics.consumed.inc({ ...labels, outcome: 'retried' });
      await this.recordFailure(job, error, { outcome: 'retried', retryDelayMs: delay });
    }
  }

  /**
   * Back to its queue as it came, no attempt spent (a dependency is away, or the consumer is pausing
   * or stopping; `handBacks`: the message was tried, and this is its count so far). Not with a nack: RabbitMQ 4 counts every message handed back towards its queue's
   * delivery limit, and dead-letters (or drops) it past the limit, so a message caught in a few
   * outages would end in the DLQ without ever failing (decision 0021). A copy goes to the same queue
   * through the service's own exchange, confirmed, and then the original is acked; a message that
   * cannot be copied (the broker is going away) is nacked back, as before.
   */
  async handBack(delivery: Delivery, handBacks?: number): Promise<void> {
    // Its channel is gone: the broker has it back already, and a copy would be a second one.
    if (!delivery.acks.isCurrent) return;
    const { message } = delivery;
    const headers = {
      ...copyHeaders(message.properties),
      [HEADER.originalExchange]: stringHeader(message.properties, HEADER.originalExchange) ?? message.fields.exchange,
      ...(handBacks === undefined ? {} : { [HEADER.handBacks]: handBacks }),
    };
    try {
      await this.deps.publisher.publish(this.ownExchange, delivery.queue, message.content, forwardOptions(message.properties, headers));
      ack(delivery);
    } catch {
      requeue(delivery);
    }
  }

  /**
   * A confirmed copy of `message` to `queue` (the DLQ, from its keeper), every header kept but the
   * broker's delivery count; the caller acks the original.
   */
  async copyBack(message: Message, queue: string): Promise<void> {
    const { 'x-delivery-count': _count, ...headers } = message.properties.headers ?? {};
    await this.deps.publisher.publish(this.ownExchange, queue, message.content, forwardOptions(message.properties, headers));
  }

  /**
   * Keeps the attempt that just failed, for the order's journey: the broker forgets it once a
   * retry succeeds. The message has already moved on, so a record that cannot be written is
   * logged and given up, never retried.
   */
  private async recordFailure(job: Job, error: unknown, outcome: Pick<FailedAttempt, 'outcome' | 'retryDelayMs' | 'deadLetterReason'>): Promise<void> {
    try {
      await this.deps.failedAttempts.record({
        queue: job.delivery.queue,
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
    /** The thrown error's name, its class for the dead letter's failure group (poison has none). */
    errorName?: string,
  ): Promise<boolean> {
    const sent = await this.republish(delivery, this.deadLetterQueue, {
      [HEADER.attempt]: attempts,
      [HEADER.deadLetterReason]: reason,
      [HEADER.error]: truncate(error),
      ...(errorName === undefined ? {} : { [HEADER.errorName]: truncate(errorName, 100) }),
    });
    if (sent) {
      this.deps.metrics.deadLettered.inc({ queue: delivery.queue, reason });
      this.deps.metrics.consumed.inc({ queue: delivery.queue, type, outcome: 'dead_lettered' });
    }
    return sent;
  }

  /**
   * Sends a copy straight to one queue (a wait queue or the DLQ, through the service's own
   * exchange: never back to the fanout exchange, which would hand it to every other subscriber again),
   * waits for the confirm, then acks the original. If the copy cannot be confirmed the original
   * is not acked, so the broker keeps it: nothing is lost, at worst it is seen again.
   */
  private async republish(delivery: Delivery, queue: string, extra: Record<string, unknown>, expiration?: string): Promise<boolean> {
    const { message } = delivery;
    const now = new Date().toISOString();
    const options = forwardOptions(message.properties, {
      ...copyHeaders(message.properties),
      [HEADER.originalExchange]: stringHeader(message.properties, HEADER.originalExchange) ?? message.fields.exchange,
      [HEADER.originalQueue]: delivery.queue,
      [HEADER.firstFailureAt]: stringHeader(message.properties, HEADER.firstFailureAt) ?? now,
      [HEADER.lastFailureAt]: now,
      ...extra,
    });
    if (expiration) options.expiration = expiration;
    try {
      await this.deps.publisher.publish(this.ownExchange, queue, message.content, options);
      ack(delivery);
      return true;
    } catch (error) {
      this.deps.logger.error({ err: errorMessage(error), queue: delivery.queue, to: queue }, 'could not move message; leaving it on the queue');
      requeue(delivery);
      return false;
    }
  }
}

const truncate = (text: string, max = 1000): string => (text.length > max ? `${text.slice(0, max)}…` : text);

const ack = ({ acks, message }: Delivery): void => acks.ack(message);
const requeue = ({ acks, message }: Delivery): void => acks.requeue(message);
