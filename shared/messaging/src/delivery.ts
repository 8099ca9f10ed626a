import type { DecodeResult } from '@troupe/contracts';
import type { Channel, ConsumeMessage } from 'amqplib';
import type { Subscription } from './handler';

/** A message taken off a subscription's queue: where it came from and what it decoded to. Data only. */
export interface Delivery {
  queue: string;
  subscription: Subscription;
  channel: Channel;
  message: ConsumeMessage;
  decoded: DecodeResult;
}

/** Done with it: the broker forgets the message. */
export function ack(delivery: Pick<Delivery, 'channel' | 'message'>): void {
  try {
    delivery.channel.ack(delivery.message);
  } catch {
    // The channel closed after the work committed: the broker redelivers, the inbox skips it.
  }
}

/** Back to the head of its queue, no attempt spent; a closed channel has already handed it back. */
export function requeue(delivery: Pick<Delivery, 'channel' | 'message'>): void {
  try {
    delivery.channel.nack(delivery.message, false, true);
  } catch {
    // channel gone: the broker requeues it anyway
  }
}
