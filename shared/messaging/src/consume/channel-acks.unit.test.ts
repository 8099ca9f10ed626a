import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { ChannelAcks } from './channel-acks';

/** A channel that records what it was told, and messages with the tags the broker would give. */
function channel() {
  const said: string[] = [];
  const fake = {
    ack: (message: ConsumeMessage, allUpTo = false) => said.push(`ack ${message.fields.deliveryTag}${allUpTo ? ' and all before' : ''}`),
    nack: (message: ConsumeMessage) => said.push(`requeue ${message.fields.deliveryTag}`),
  } as unknown as Channel;
  const acks = new ChannelAcks(fake);
  const take = (...tags: number[]) =>
    tags.map((deliveryTag) => {
      const message = { fields: { deliveryTag } } as ConsumeMessage;
      acks.received(message);
      return message;
    });
  return { acks, fake, said, take };
}

/** The end of the event loop's turn, when waiting acks go out. */
const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('acks', () => {
  it('when a batch is acked together, then one ack with `multiple` goes out at the end of the turn', async () => {
    const { acks, said, take } = channel();
    const batch = take(1, 2, 3, 4);
    for (const message of [...batch].reverse()) acks.ack(message);
    expect(said).toEqual([]);
    await endOfTurn();
    expect(said).toEqual(['ack 4 and all before']);
  });

  it('when an older message is still in hand, then the acks above it go out one by one and never cover it', async () => {
    const { acks, said, take } = channel();
    const [first, second, third, fourth] = take(1, 2, 3, 4);
    acks.ack(first!);
    acks.ack(third!);
    acks.ack(fourth!);
    await endOfTurn();
    expect(said).toEqual(['ack 1 and all before', 'ack 3', 'ack 4']);
    said.length = 0;
    acks.ack(second!);
    await endOfTurn();
    expect(said).toEqual(['ack 2 and all before']);
  });

  it('when a message was handed back, then a later `multiple` ack may pass it: the broker has settled it already', async () => {
    const { acks, said, take } = channel();
    const [first, second, third] = take(1, 2, 3);
    acks.requeue(second!);
    acks.ack(first!);
    acks.ack(third!);
    await endOfTurn();
    expect(said).toEqual(['requeue 2', 'ack 3 and all before']);
  });

  it('when a message is handed back in a later turn, then the next `multiple` ack passes it, and the earlier one did not reach it', async () => {
    const { acks, said, take } = channel();
    const [first, second, third] = take(1, 2, 3);
    acks.ack(first!);
    await endOfTurn();
    acks.requeue(second!);
    acks.ack(third!);
    await endOfTurn();
    expect(said).toEqual(['ack 1 and all before', 'requeue 2', 'ack 3 and all before']);
  });

  it('when a message taken is never settled (the consumer stopping), then nothing acked later covers it', async () => {
    const { acks, said, take } = channel();
    const [, second, third] = take(1, 2, 3);
    acks.ack(third!);
    acks.ack(second!);
    await endOfTurn();
    expect(said).toEqual(['ack 3', 'ack 2']);
  });

  it('when the channel is about to close, then flushing sends what waits at once, and the turn adds nothing', async () => {
    const { acks, said, take } = channel();
    for (const message of take(7, 8)) acks.ack(message);
    acks.flush();
    expect(said).toEqual(['ack 8 and all before']);
    await endOfTurn();
    expect(said).toEqual(['ack 8 and all before']);
  });

  it('when the channel has closed, then acking does not throw', async () => {
    const { acks, fake, take } = channel();
    fake.ack = () => {
      throw new Error('Channel closed');
    };
    const [message] = take(1);
    acks.ack(message!);
    await endOfTurn();
    expect(() => acks.flush()).not.toThrow();
  });
});
