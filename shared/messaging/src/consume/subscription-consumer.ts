import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { forgetForeignCounters } from '../headers';
import type { MessagingMetrics } from '../metrics';
import type { BatchQueue } from '../unit-of-work/batch-queue';
import { ChannelAcks } from './channel-acks';
import type { Delivery } from './delivery';
import type { Subscription } from './handler';
import type { Settler } from './settle';
import { decodeWithin } from './triage';

export interface SubscriptionConsumerDeps {
  logger: Logger;
  metrics: MessagingMetrics;
  prefetch: number;
  /** Largest body decoded; a bigger one goes to the batch queue as poison, unread (`decodeWithin`). */
  maxMessageBytes: number;
  /**
   * Where deliveries wait to be handled: shared by every subscription of the service and keyed
   * by orderId, so all of one order's messages, whichever queue they came from, are handled one
   * after the other (other orders' beside them only when a batch stalls: see `BatchQueue`).
   */
  batches: BatchQueue<Delivery>;
  /** This consumer's channel died while the connection lives on: the connection is recycled. */
  onChannelLost: (reason: string) => void;
  /** Sends a message taken but not handled back to its queue, no attempt spent (`Settler.handBack`). */
  settler: Pick<Settler, 'handBack'>;
  /** The service's own exchange: only copies that came through it carry counts the library trusts. */
  ownExchange: string;
}

/**
 * One subscription's queue and the channel it is consumed on: attached on every (re)connect,
 * paused and resumed around a dependency's outage, cancelled on shutdown. What it takes off the
 * queue goes into the batch queue as a `Delivery`; it never handles or settles a message itself.
 */
export class SubscriptionConsumer {
  /** The channel consumed on, with its acks, which every delivery taken on it carries (see `ChannelAcks`). */
  private acks: ChannelAcks | undefined;
  private consumerTag: string | undefined;
  private stopping = false;
  /** The `basic.consume` on its way, if any. */
  private starting: Promise<void> | undefined;
  /** Hand-backs not yet confirmed: the channel stays open until they are settled. */
  private readonly handingBack = new Set<Promise<void>>();
  /** Dependencies whose outage keeps this subscription from consuming (see `Outages`). */
  private readonly pausedBy = new Set<string>();

  constructor(
    readonly queue: string,
    readonly subscription: Subscription,
    private readonly deps: SubscriptionConsumerDeps,
  ) {
    deps.metrics.consumerUp.set({ queue }, 0);
  }

  get consuming(): boolean {
    return this.consumerTag !== undefined && this.channel !== undefined;
  }

  /** Messages taken off the queue and not yet settled (0 with no channel: the broker has them back). */
  get unacked(): number {
    return this.acks?.unsettledCount ?? 0;
  }

  get paused(): string[] {
    return [...this.pausedBy];
  }

  private get channel(): Channel | undefined {
    return this.acks?.channel;
  }

  async attach(model: ChannelModel): Promise<void> {
    const channel = await model.createChannel();
    const acks = new ChannelAcks(channel);
    channel.on('error', (error: Error) => this.deps.logger.error({ err: error.message, queue: this.queue }, 'consumer channel error'));
    channel.on('close', () => {
      if (this.channel !== channel) return;
      this.leaveChannel();
      this.consumerTag = undefined;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
      // Prefetched messages not yet handled go back to the queue with the channel.
      this.deps.batches.remove((d) => d.acks === acks);
      if (!this.stopping) this.deps.onChannelLost(`${this.queue}: channel closed`);
    });
    await channel.prefetch(this.deps.prefetch);
    this.leaveChannel();
    this.acks = acks;
    if (this.pausedBy.size === 0) await this.consume(acks);
  }

  /**
   * Stop taking messages while `dependency` is away: cancel the consumer and hand back what was
   * taken but not started, without spending an attempt. Batches in hand finish (or fail the same
   * way and are handed back too). The channel stays open, so resuming is one `basic.consume`.
   */
  async pause(dependency: string): Promise<void> {
    this.pausedBy.add(dependency);
    const { channel, consumerTag } = this;
    if (!channel) return;
    // A consume still on its way is cancelled as it lands (see `consume`).
    if (consumerTag !== undefined) {
      this.consumerTag = undefined;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
      await channel.cancel(consumerTag).catch(() => undefined);
    }
    await this.handBack(this.dropQueued());
  }

  async resume(dependency: string): Promise<void> {
    this.pausedBy.delete(dependency);
    const acks = this.acks;
    if (this.pausedBy.size > 0 || this.stopping || !acks || this.consumerTag !== undefined) return;
    // A lost channel is rebuilt by the connection's recovery, which consumes again (see `attach`).
    await this.consume(acks).catch((error: unknown) =>
      this.deps.logger.warn({ err: errorMessage(error), queue: this.queue }, 'could not resume consuming; waiting for the connection to recover'),
    );
  }

  /** Connection lost: nothing to cancel, in-flight acks will fail and the broker redelivers. */
  detach(): void {
    this.leaveChannel();
    this.consumerTag = undefined;
    this.dropQueued();
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
  }

  /** Stop taking messages; what was taken but not started goes back to its queue. */
  async cancel(): Promise<void> {
    this.stopping = true;
    const { channel, consumerTag } = this;
    if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => undefined);
    this.consumerTag = undefined;
    this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
    await this.handBack(this.dropQueued());
  }

  /** Sends the acks waiting for the end of this turn now (the connection is about to close). */
  flushAcks(): void {
    this.acks?.flush();
  }

  /** After the batches in hand have finished (see `Messaging.stop`). */
  async close(): Promise<void> {
    await Promise.all(this.handingBack);
    this.flushAcks();
    await this.channel?.close().catch(() => undefined);
  }

  /** The subscription stops consuming on its channel: deliveries taken on it are no longer current. */
  private leaveChannel(): void {
    this.acks?.retire();
    this.acks = undefined;
  }

  private async consume(acks: ChannelAcks): Promise<void> {
    // One basic.consume at a time: a resume while an attach's consume is on its way adds nothing.
    if (this.starting) return this.starting;
    const { channel } = acks;
    this.starting = (async () => {
      const { consumerTag } = await channel.consume(this.queue, (message) => this.onMessage(acks, message), { noAck: false });
      // Paused or stopped while the consume was on its way: a consumer now would take messages
      // only to hand them straight back.
      if (this.pausedBy.size > 0 || this.stopping || this.acks !== acks) {
        await channel.cancel(consumerTag).catch(() => undefined);
        return;
      }
      this.consumerTag = consumerTag;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 1);
    })();
    try {
      await this.starting;
    } finally {
      this.starting = undefined;
    }
  }

  private onMessage(acks: ChannelAcks, message: ConsumeMessage | null): void {
    if (message === null) {
      // The broker cancelled us (queue deleted or failed over): redeclare everything.
      this.consumerTag = undefined;
      this.deps.metrics.consumerUp.set({ queue: this.queue }, 0);
      if (!this.stopping) this.deps.onChannelLost(`${this.queue}: consumer cancelled by the broker`);
      return;
    }
    // Before anything else: an ack for a later message must never cover this one unsettled.
    acks.received(message);
    forgetForeignCounters(message, this.deps.ownExchange);
    const decoded = decodeWithin(message.content, this.deps.maxMessageBytes);
    const delivery: Delivery = { queue: this.queue, subscription: this.subscription, acks, message, decoded };
    // Sent before the broker saw our cancel: straight back, untouched.
    if (this.stopping || this.pausedBy.size > 0) return void this.handBack([delivery]);
    this.deps.batches.push(delivery, decoded.ok ? decoded.event.orderId : undefined);
  }

  /** Hands `deliveries` back (see `Settler.handBack`); `close` waits for them. */
  private async handBack(deliveries: readonly Delivery[]): Promise<void> {
    const done = Promise.all(deliveries.map((delivery) => this.deps.settler.handBack(delivery))).then(() => undefined);
    this.handingBack.add(done);
    try {
      await done;
    } finally {
      this.handingBack.delete(done);
    }
  }

  /** Takes this queue's deliveries that wait in the batch queue, not yet started, out of it. */
  private dropQueued(): Delivery[] {
    return this.deps.batches.remove((d) => d.queue === this.queue);
  }
}
