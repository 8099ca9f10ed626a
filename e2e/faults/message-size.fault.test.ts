import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs } from '../support/needs';
import { canRunOwnRabbitmq, OwnRabbitmq } from './own-rabbitmq';

// The broker's own bound on a message (decision 0025), as troupe configures it: a node of the
// test's own (RABBITMQ_SERVER picks the release) started with the `max_message_size` line of
// infra/rabbitmq/rabbitmq.conf, the file every troupe broker loads.
const CONF = readFileSync(join(__dirname, '..', '..', 'infra', 'rabbitmq', 'rabbitmq.conf'), 'utf8');
const LINE = /^max_message_size\s*=\s*(\d+)\s*$/m.exec(CONF);
const MAX_MESSAGE_SIZE = Number(LINE?.[1]);
const QUEUE = 'sized';

let broker: OwnRabbitmq | undefined;
let connection: ChannelModel | undefined;

/**
 * A confirm channel, a publish that resolves on the broker's confirm (and rejects on its nack or
 * the channel's close), and the errors the broker closed the channel with.
 */
async function confirmChannel() {
  const channel: ConfirmChannel = await connection!.createConfirmChannel();
  const closedWith: { code?: number; message?: string }[] = [];
  channel.on('error', (error: { code?: number; message?: string }) => closedWith.push(error));
  const closed = new Promise<void>((resolve) => channel.once('close', () => resolve()));
  const publish = (bytes: number) =>
    new Promise<void>((resolve, reject) => {
      channel.publish('', QUEUE, Buffer.alloc(bytes, 'x'), { persistent: true }, (error) => (error ? reject(new Error(String(error))) : resolve()));
    });
  return { channel, publish, closedWith, closed };
}

describe.runIf(needs('a local RabbitMQ installation (rabbitmq-server) and root, for a node of its own', canRunOwnRabbitmq()))("a broker with troupe's max_message_size", () => {
  beforeAll(async () => {
    expect(LINE, 'infra/rabbitmq/rabbitmq.conf sets max_message_size').not.toBeNull();
    broker = await OwnRabbitmq.create([LINE![0]]);
    connection = await connect(broker.url);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    await channel.assertQueue(QUEUE, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
    await channel.close();
  });

  /** Messages in the queue. */
  const depth = async () => {
    const channel = await connection!.createChannel();
    const { messageCount } = await channel.checkQueue(QUEUE);
    await channel.close();
    return messageCount;
  };

  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await broker?.destroy();
  });

  it('when a message is exactly max_message_size, then the broker takes and confirms it', async () => {
    const before = await depth();
    const { publish, closedWith, channel } = await confirmChannel();
    await expect(publish(MAX_MESSAGE_SIZE)).resolves.toBeUndefined();
    expect(closedWith).toEqual([]);
    expect(await depth()).toBe(before + 1);
    await channel.close();
  });

  // troupe's publisher takes a channel closed under a publish for the broker being away: the
  // event stays in the outbox (no event of troupe's comes near the limit, decision 0025).
  it('when a message is one byte over, then the broker does not confirm it and closes the channel with PRECONDITION_FAILED', async () => {
    const before = await depth();
    const { publish, closedWith, closed } = await confirmChannel();
    await expect(publish(MAX_MESSAGE_SIZE + 1)).rejects.toThrow();
    await closed;
    expect(closedWith).toHaveLength(1);
    expect(closedWith[0]).toMatchObject({ code: 406 });
    expect(closedWith[0]?.message).toMatch(/PRECONDITION_FAILED.*larger than configured max size/);
    expect(await depth()).toBe(before);
    console.log(`over max_message_size (${MAX_MESSAGE_SIZE}): ${closedWith[0]?.message}`);
  });
});
