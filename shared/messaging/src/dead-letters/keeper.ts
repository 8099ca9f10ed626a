import { deadLetterQueueOf, type ServiceName } from '@troupe/contracts';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { keepDeadLetter } from './dead-letters';
import { errorMessage } from '../errors';
import type { MessagingMetrics } from '../metrics';

export interface DeadLetterKeeperDeps {
  service: ServiceName;
  pool: Pool;
  logger: Logger;
  metrics: MessagingMetrics;
  /** Messages taken off the DLQ at once. */
  prefetch: number;
  /** First wait before writing again while the database is away; doubles up to 5 s. */
  retryDelayMs?: number;
  /** The keeper's channel died, or the broker cancelled it, while the connection lives on: the connection is recycled. */
  onChannelLost: (reason: string) => void;
  /** Puts a confirmed copy of a message on a queue, here the DLQ (`Settler.copyBack`). */
  copier: { copyBack(message: ConsumeMessage, queue: string): Promise<void> };
}

/**
 * Moves every message that reaches `<service>.dlq` into the service's database (decision 0021),
 * where operators list, replay and purge it (`DeadLetters`). A message is acked only once its row
 * is committed. While the database is away the keeper holds what it took and writes it again with
 * backoff; stopping meanwhile, it puts a confirmed copy back on the DLQ and acks the original
 * rather than letting the broker take it back, which RabbitMQ 4 would count as a delivery (the
 * DLQ has no dead-letter exchange of its own: past its limit a message would be dropped). Only a
 * lost connection hands back what it holds, one delivery each.
 */
export class DeadLetterKeeper {
  private channel: Channel | undefined;
  private consumerTag: string | undefined;
  private stopping = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Wakes the writes waiting out their backoff (on stop). */
  private readonly sleepers = new Set<() => void>();
  readonly queue: string;

  constructor(private readonly deps: DeadLetterKeeperDeps) {
    this.queue = deadLetterQueueOf(deps.service);
  }

  async attach(model: ChannelModel): Promise<void> {
    if (this.stopping) return;
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => this.deps.logger.error({ err: error.message, queue: this.queue }, 'dead-letter channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.detach();
      if (!this.stopping) this.deps.onChannelLost(`${this.queue}: channel closed`);
    });
    await channel.prefetch(this.deps.prefetch);
    this.channel = channel;
    const { consumerTag } = await channel.consume(this.queue, (message) => this.onMessage(channel, message), { noAck: false });
    this.consumerTag = consumerTag;
  }

  /** Connection lost: what was held goes back to the DLQ with the channel. */
  detach(): void {
    this.channel = undefined;
    this.consumerTag = undefined;
  }

  /** Stops taking messages and settles what it holds: kept if the database answers now, else copied back. */
  async stop(): Promise<void> {
    this.stopping = true;
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    for (const wake of this.sleepers) wake();
    await Promise.all(this.inFlight);
    await channel?.close().catch(() => undefined);
    this.detach();
  }

  private onMessage(channel: Channel, message: ConsumeMessage | null): void {
    if (message === null) {
      // Cancelled by the broker (the DLQ deleted, its leader moved): the connection's recovery
      // declares the topology again and consumes anew.
      this.consumerTag = undefined;
      if (!this.stopping) this.deps.onChannelLost(`${this.queue}: consumer cancelled by the broker`);
      return;
    }
    const work = this.keep(channel, message);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  private async keep(channel: Channel, message: ConsumeMessage): Promise<void> {
    let delay = this.deps.retryDelayMs ?? 250;
    for (let failures = 0; ; failures++) {
      try {
        await keepDeadLetter(this.deps.pool, this.deps.service, message);
        break;
      } catch (error) {
        if (failures === 0) this.deps.logger.warn({ err: errorMessage(error), messageId: message.properties.messageId }, 'could not keep a dead letter; holding it and trying again');
        // Gone with its channel: the broker gives it back to a keeper.
        if (this.channel !== channel) return;
        if (this.stopping) return this.copyBack(channel, message);
        await this.sleep(delay);
        if (this.stopping) return this.copyBack(channel, message);
        delay = Math.min(5000, delay * 2);
      }
    }
    this.deps.metrics.deadLettersKept.inc();
    ack(channel, message);
  }

  private async copyBack(channel: Channel, message: ConsumeMessage): Promise<void> {
    try {
      await this.deps.copier.copyBack(message, this.queue);
      ack(channel, message);
    } catch (error) {
      this.deps.logger.warn({ err: errorMessage(error), messageId: message.properties.messageId }, 'could not put a dead letter back; the broker takes it back');
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      timer.unref();
      this.sleepers.add(wake);
    });
  }
}

function ack(channel: Channel, message: ConsumeMessage): void {
  try {
    channel.ack(message);
  } catch {
    // The channel closed after the commit: the broker redelivers it and the row is already there.
  }
}
