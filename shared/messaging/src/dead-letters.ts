import { createHash } from 'node:crypto';
import { deadLetterQueueOf, ownExchangeOf, type DeadLetter, type ServiceName } from '@troupe/contracts';
import type { ConfirmChannel, GetMessage } from 'amqplib';
import { UnroutableError } from './errors';
import { HEADER, copyHeaders, forwardOptions, numberHeader, stringHeader } from './headers';
import { ConfirmPublisher } from './publisher';
import { endSpan, startReplaySpan } from './tracing';

/** A dead-lettered message as an operator sees it: one of GET /admin/dlq's `messages`. */
export type { DeadLetter };

export type Selection = { all: true } | { ids: readonly string[] };

export function describeDeadLetter(message: GetMessage): DeadLetter {
  const p = message.properties;
  // A message the broker dead-lettered itself (delivery limit) carries x-first-death-* instead of ours.
  const brokerQueue = stringHeader(p, 'x-first-death-queue');
  return {
    id: deadLetterId(message),
    type: typeof p.type === 'string' ? p.type : undefined,
    queue: stringHeader(p, HEADER.originalQueue) ?? brokerQueue,
    exchange: stringHeader(p, HEADER.originalExchange) ?? stringHeader(p, 'x-first-death-exchange'),
    reason: stringHeader(p, HEADER.deadLetterReason) ?? (brokerQueue ? `broker: ${stringHeader(p, 'x-first-death-reason') ?? 'unknown'}` : undefined),
    error: stringHeader(p, HEADER.error),
    attempts: numberHeader(p, HEADER.attempt),
    firstFailureAt: stringHeader(p, HEADER.firstFailureAt),
    lastFailureAt: stringHeader(p, HEADER.lastFailureAt),
    replayCount: numberHeader(p, HEADER.replayCount) ?? 0,
    body: message.content.toString('utf8'),
    headers: p.headers ?? {},
  };
}

export function deadLetterId(message: GetMessage): string {
  const id = message.properties.messageId;
  return typeof id === 'string' && id.length > 0 ? id : `sha256:${createHash('sha256').update(message.content).digest('hex').slice(0, 16)}`;
}

const selected = (selection: Selection, id: string) => ('all' in selection ? true : selection.ids.includes(id));

/**
 * Inspect, replay and purge a service's dead-letter queue over AMQP (so it works whether the
 * service is up or not). Every operation takes the messages one by one and puts back, unacked,
 * the ones it was not asked about.
 */
export class DeadLetters {
  private readonly publisher = new ConfirmPublisher();
  readonly queue: string;
  private readonly exchange: string;

  constructor(
    private readonly channel: ConfirmChannel,
    service: ServiceName,
  ) {
    this.queue = deadLetterQueueOf(service);
    this.exchange = ownExchangeOf(service);
    this.publisher.attach(channel);
  }

  /** Up to `limit` messages, left in the queue. */
  async list(limit = 100): Promise<DeadLetter[]> {
    const taken = await this.take(limit);
    await this.putBack(taken);
    return taken.map(describeDeadLetter);
  }

  async count(): Promise<number> {
    return (await this.channel.checkQueue(this.queue)).messageCount;
  }

  /**
   * Sends the selected messages back to the queue they failed on (never to the fanout exchange:
   * the other subscribers already have them), as a fresh first attempt with `x-troupe-replay-count`
   * incremented, each in a new trace linked to the original. The DLQ copy is acked only after the
   * broker confirmed the replayed one: a failure half way leaves a message in both places at
   * worst, and the consumer's inbox makes the second copy harmless.
   */
  async replay(selection: Selection, limit = 10_000): Promise<(DeadLetter & { queue: string })[]> {
    const taken = await this.take(limit);
    const replayed: (DeadLetter & { queue: string })[] = [];
    const settled = new Set<GetMessage>();
    try {
      for (const message of taken) {
        const letter = describeDeadLetter(message);
        const queue = letter.queue;
        if (!selected(selection, letter.id) || !queue) continue;
        await this.republish(message, letter);
        this.channel.ack(message);
        settled.add(message);
        replayed.push({ ...letter, queue });
      }
    } finally {
      await this.putBack(taken.filter((m) => !settled.has(m)));
      await this.flush();
    }
    return replayed;
  }

  /** Deletes the selected messages for good. */
  async purge(selection: Selection, limit = 10_000): Promise<DeadLetter[]> {
    const taken = await this.take(limit);
    const purged: DeadLetter[] = [];
    const untouched: GetMessage[] = [];
    for (const message of taken) {
      const letter = describeDeadLetter(message);
      if (selected(selection, letter.id)) {
        this.channel.ack(message);
        purged.push(letter);
      } else {
        untouched.push(message);
      }
    }
    await this.putBack(untouched);
    await this.flush();
    return purged;
  }

  /**
   * Acks have no reply: one round trip on the same channel after them guarantees the broker has
   * processed them before we return (and before a caller such as the CLI closes the connection,
   * which would otherwise lose the last acks and leave replayed messages in the DLQ).
   */
  private async flush(): Promise<void> {
    await this.count();
  }

  private async take(limit: number): Promise<GetMessage[]> {
    const taken: GetMessage[] = [];
    while (taken.length < limit) {
      const message = await this.channel.get(this.queue, { noAck: false });
      if (!message) break;
      taken.push(message);
    }
    return taken;
  }

  /**
   * Returns messages to the queue, and waits (briefly) until the queue shows them again: a nack has
   * no reply, and the next operation — another listing, a replay — must find them there.
   */
  private async putBack(messages: readonly GetMessage[]): Promise<void> {
    if (messages.length === 0) return;
    const before = await this.count();
    for (const message of messages) this.channel.nack(message, false, true);
    const deadline = Date.now() + 2000;
    while ((await this.count()) < before + messages.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async republish(message: GetMessage, letter: DeadLetter): Promise<void> {
    const queue = letter.queue as string;
    const headers = copyHeaders(message.properties);
    for (const name of [HEADER.attempt, HEADER.error, HEADER.deadLetterReason, HEADER.firstFailureAt, HEADER.lastFailureAt]) {
      delete headers[name];
    }
    const { span, headers: trace } = startReplaySpan(message.properties.headers, queue, letter.id);
    if (typeof headers.traceparent === 'string') headers['x-troupe-original-traceparent'] = headers.traceparent;
    delete headers.tracestate;
    try {
      // Straight to the queue (through the service's own exchange), with confirm and `mandatory`:
      // a queue that no longer exists is an error.
      await this.publisher.publish(
        this.exchange,
        queue,
        message.content,
        forwardOptions(message.properties, {
          ...headers,
          ...trace,
          [HEADER.replayCount]: letter.replayCount + 1,
          [HEADER.replayedAt]: new Date().toISOString(),
        }),
      );
      endSpan(span);
    } catch (error) {
      endSpan(span, error);
      throw error instanceof UnroutableError
        ? new Error(`queue ${queue} does not exist: ${letter.id} stays in the DLQ`)
        : new Error(`broker did not confirm the replay of ${letter.id}`);
    }
  }
}
