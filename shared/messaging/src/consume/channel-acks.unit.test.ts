import type { Channel, ConsumeMessage } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { ack, flushAcks, received, requeue } from './channel-acks';

/** A channel that records what it was told, and messages with the tags the broker would give. */
function channel() {
  const said: string[] = [];
  const fake = {
    ack: (message: ConsumeMessage, allUpTo = false) => said.push(`ack ${message.fields.deliveryTag}${allUpTo ? ' and all before' : ''}`),
    nack: (message: ConsumeMessage) => said.push(`requeue ${message.fields.deliveryTag}`),
  } as unknown as Channel;
  const take = (...tags: number[]) =>
    tags.map((deliveryTag) => {
      const message = { fields: { deliveryTag } } as ConsumeMessage;
      received({ channel: fake, message });
      return { channel: fake, message };
    });
  return { fake, said, take };
}

/** The end of the event loop's turn, when waiting acks go out. */
const endOfTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('acks', () => {
  it('when a batch is acked together, then one ack with `multiple` goes out at the end of the turn', async () => {
    const { said, take } = channel();
    const batch = take(1, 2, 3, 4);
    for (const delivery of [...batch].reverse()) ack(delivery);
    expect(said).toEqual([]);
    await endOfTurn();
    expect(said).toEqual(['ack 4 and all before']);
  });

  it('when an older message is still in hand, then the acks above it go out one by one and never cover it', async () => {
    const { said, take } = channel();
    const [first, second, third, fourth] = take(1, 2, 3, 4);
    ack(first!);
    ack(third!);
    ack(fourth!);
    await endOfTurn();
    expect(said).toEqual(['ack 1 and all before', 'ack 3', 'ack 4']);
    said.length = 0;
    ack(second!);
    await endOfTurn();
    expect(said).toEqual(['ack 2 and all before']);
  });

  it('when a message was handed back, then a later `multiple` ack may pass it: the broker has settled it already', async () => {
    const { said, take } = channel();
    const [first, second, third] = take(1, 2, 3);
    requeue(second!);
    ack(first!);
    ack(third!);
    await endOfTurn();
    expect(said).toEqual(['requeue 2', 'ack 3 and all before']);
  });

  it('when a message is handed back in a later turn, then the next `multiple` ack passes it, and the earlier one did not reach it', async () => {
    const { said, take } = channel();
    const [first, second, third] = take(1, 2, 3);
    ack(first!);
    await endOfTurn();
    requeue(second!);
    ack(third!);
    await endOfTurn();
    expect(said).toEqual(['ack 1 and all before', 'requeue 2', 'ack 3 and all before']);
  });

  it('when a message taken is never settled (the consumer stopping), then nothing acked later covers it', async () => {
    const { said, take } = channel();
    const [, second, third] = take(1, 2, 3);
    ack(third!);
    ack(second!);
    await endOfTurn();
    expect(said).toEqual(['ack 3', 'ack 2']);
  });

  it('when the channel is about to close, then flushing sends what waits at once, and the turn adds nothing', async () => {
    const { fake, said, take } = channel();
    for (const delivery of take(7, 8)) ack(delivery);
    flushAcks(fake);
    expect(said).toEqual(['ack 8 and all before']);
    await endOfTurn();
    expect(said).toEqual(['ack 8 and all before']);
  });

  it('when the channel has closed, then acking does not throw', async () => {
    const { fake, take } = channel();
    fake.ack = () => {
      throw new Error('Channel closed');
    };
    const [delivery] = take(1);
    ack(delivery!);
    await endOfTurn();
    expect(() => flushAcks(fake)).not.toThrow();
  });
});
