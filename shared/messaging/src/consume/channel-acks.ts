import type { Channel, Message } from 'amqplib';

/**
 * One consumer channel's acks (decision 0019): what it has taken and not settled, and the acks
 * waiting to go out. Acks wait for the end of the event loop's turn, then go out as one
 * `basic.ack` with `multiple` for every one below the oldest message still unsettled, and one
 * each for the rest: a batch of thirty settled together costs the broker one ack (one
 * quorum-queue settle command), not thirty. A requeue goes out at once.
 *
 * The subscription consumer makes one for each channel it consumes on, tells it of every message
 * first (`received`) and retires it when it stops consuming on that channel. Each `Delivery`
 * carries the one its message came on: whoever settles a message settles it there.
 */
export class ChannelAcks {
  /** Delivery tags taken and neither acked nor handed back: a `multiple` ack must stay below them all. */
  private readonly unsettled = new Set<number>();
  private pending: Message[] = [];
  private scheduled = false;
  private retired = false;

  constructor(readonly channel: Channel) {}

  /** Whether its subscription still consumes on this channel; if not, the broker has its messages back (or will). */
  get isCurrent(): boolean {
    return !this.retired;
  }

  /** Messages taken on this channel and not yet settled: its subscription's unacked count, as /readyz reports it. */
  get unsettledCount(): number {
    return this.unsettled.size;
  }

  /** The subscription no longer consumes on this channel (closed, lost, or replaced). */
  retire(): void {
    this.retired = true;
  }

  /**
   * Every message taken is announced here first, settled or not: a message that reached `ack` or
   * `requeue` without it could be covered by a `multiple` ack while still in hand.
   */
  received(message: Message): void {
    this.unsettled.add(message.fields.deliveryTag);
  }

  /** Done with it: the broker forgets the message once the ack goes out, at the end of this turn. */
  ack(message: Message): void {
    this.unsettled.delete(message.fields.deliveryTag);
    this.pending.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  /** Back to the head of its queue, no attempt spent; a closed channel has already handed it back. */
  requeue(message: Message): void {
    this.unsettled.delete(message.fields.deliveryTag);
    try {
      this.channel.nack(message, false, true);
    } catch {
      // channel gone: the broker requeues it anyway
    }
  }

  /** Sends the acks waiting now (before closing the channel, say). */
  flush(): void {
    this.scheduled = false;
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    let floor = Infinity;
    for (const tag of this.unsettled) floor = Math.min(floor, tag);
    let highest: Message | undefined;
    const rest: Message[] = [];
    for (const message of pending) {
      if (message.fields.deliveryTag >= floor) rest.push(message);
      else if (!highest || message.fields.deliveryTag > highest.fields.deliveryTag) highest = message;
    }
    try {
      // Every tag below `floor` is settled: acked here, or handed back already (a nack goes out at once).
      if (highest) this.channel.ack(highest, true);
      for (const message of rest) this.channel.ack(message);
    } catch {
      // The channel closed after the work committed: the broker redelivers, the inbox skips it.
    }
  }
}
