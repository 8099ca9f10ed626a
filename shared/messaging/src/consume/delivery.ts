import type { DecodeResult } from '@troupe/contracts';
import type { ConsumeMessage } from 'amqplib';
import type { ChannelAcks } from './channel-acks';
import type { Subscription } from './handler';

/**
 * A message taken off a subscription's queue: where it came from, what it decoded to, and the
 * acks of the channel it came on, through which it is settled (see `ChannelAcks`). Data, plus
 * that one handle: nothing here acts on its own.
 */
export interface Delivery {
  queue: string;
  subscription: Subscription;
  acks: ChannelAcks;
  message: ConsumeMessage;
  decoded: DecodeResult;
}
