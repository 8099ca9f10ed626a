import type { DecodeResult } from '@troupe/contracts';
import type { Channel, ConsumeMessage, Message } from 'amqplib';
import type { Subscription } from './handler';

/** A message taken off a subscription's queue: where it came from and what it decoded to. Data only. */
export interface Delivery {
  queue: string;
  subscription: Subscription;
  channel: Channel;
  message: ConsumeMessage;
  decoded: DecodeResult;
}

type Settled = Pick<Delivery, 'channel' | 'message'>;

/**
 * What a consumer channel has taken and not settled, and the acks waiting to go out. Acks wait for
 * the end of the event loop's turn, then go out as one `basic.ack` with `multiple` for every one
 * below the oldest message still unsettled, and one each for the rest: a batch of thirty settled
 * together costs the broker one ack (one quorum-queue settle command), not thirty.
 */
interface ChannelAcks {
  /** Delivery tags taken and neither acked nor handed back: a `multiple` ack must stay below them all. */
  readonly unsettled: Set<number>;
  pending: Message[];
  scheduled: boolean;
}

const channels = new WeakMap<Channel, ChannelAcks>();

function acksOf(channel: Channel): ChannelAcks {
  let acks = channels.get(channel);
  if (!acks) {
    acks = { unsettled: new Set(), pending: [], scheduled: false };
    channels.set(channel, acks);
  }
  return acks;
}

/**
 * Every message a consumer takes is announced here first, settled or not (see `ChannelAcks`): a
 * delivery that reached `ack` or `requeue` without it could be covered by a `multiple` ack while
 * still in hand. `SubscriptionConsumer.onMessage` is the one place deliveries come from.
 */
export function received({ channel, message }: Settled): void {
  acksOf(channel).unsettled.add(message.fields.deliveryTag);
}

/** Done with it: the broker forgets the message once the ack goes out, at the end of this turn. */
export function ack({ channel, message }: Settled): void {
  const acks = acksOf(channel);
  acks.unsettled.delete(message.fields.deliveryTag);
  acks.pending.push(message);
  if (acks.scheduled) return;
  acks.scheduled = true;
  setImmediate(() => flushAcks(channel));
}

/** Back to the head of its queue, no attempt spent; a closed channel has already handed it back. */
export function requeue({ channel, message }: Settled): void {
  acksOf(channel).unsettled.delete(message.fields.deliveryTag);
  try {
    channel.nack(message, false, true);
  } catch {
    // channel gone: the broker requeues it anyway
  }
}

/** Sends the acks waiting on `channel` now (before closing it, say). */
export function flushAcks(channel: Channel): void {
  const acks = channels.get(channel);
  if (!acks) return;
  acks.scheduled = false;
  const pending = acks.pending;
  if (pending.length === 0) return;
  acks.pending = [];
  let floor = Infinity;
  for (const tag of acks.unsettled) floor = Math.min(floor, tag);
  let highest: Message | undefined;
  const rest: Message[] = [];
  for (const message of pending) {
    if (message.fields.deliveryTag >= floor) rest.push(message);
    else if (!highest || message.fields.deliveryTag > highest.fields.deliveryTag) highest = message;
  }
  try {
    // Every tag below `floor` is settled: acked here, or handed back already (a nack goes out at once).
    if (highest) channel.ack(highest, true);
    for (const message of rest) channel.ack(message);
  } catch {
    // The channel closed after the work committed: the broker redelivers, the inbox skips it.
  }
}
