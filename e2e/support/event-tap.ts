import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { contracts } from './contracts';

/**
 * Sees every message published to the given exchanges, through a queue of its own (exclusive,
 * server-named, gone with the connection), and has each checked against the AsyncAPI document.
 * Messages the test itself published (`isOwn`: a poison message on purpose, say) are not the
 * services' and are left out.
 */
export class EventTap {
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
  ) {}

  static async open(url: string, exchanges: readonly string[], isOwn: (messageId: string | undefined) => boolean): Promise<EventTap> {
    const connection = await amqp.connect(url);
    // A broker going away (a fault test) ends the tap, not the test process.
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    channel.on('error', () => undefined);
    const { queue } = await channel.assertQueue('', { exclusive: true, durable: false, autoDelete: true });
    for (const exchange of exchanges) await channel.bindQueue(queue, exchange, '');
    await channel.consume(
      queue,
      (message) => {
        if (!message || isOwn(message.properties.messageId as string | undefined)) return;
        contracts.checkMessage({ exchange: message.fields.exchange, content: message.content, properties: message.properties });
      },
      { noAck: true },
    );
    return new EventTap(connection, channel);
  }

  async close(): Promise<void> {
    await this.channel.close().catch(() => undefined);
    await this.connection.close().catch(() => undefined);
  }
}
