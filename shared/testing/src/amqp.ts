import { connect, type ChannelModel, type ConfirmChannel, type GetMessage } from 'amqplib';

/** A plain AMQP client for tests: publish what a producer would, look into queues. */
export class TestBroker {
  /** The message ids this client published (so a test can tell its own messages from the services'). */
  readonly published = new Set<string>();

  private constructor(
    private readonly connection: ChannelModel,
    readonly channel: ConfirmChannel,
  ) {}

  static async connect(url: string): Promise<TestBroker> {
    const connection = await connect(url);
    const channel = await connection.createConfirmChannel();
    return new TestBroker(connection, channel);
  }

  /** Publishes a body (object → JSON, or raw) to an exchange and waits for the confirm. */
  async publish(exchange: string, body: unknown, options: { messageId?: string; type?: string; headers?: Record<string, unknown> } = {}) {
    const content = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    const envelope = typeof body === 'object' && body !== null && !Buffer.isBuffer(body) ? (body as { id?: string; type?: string }) : {};
    const messageId = options.messageId ?? envelope.id;
    if (messageId !== undefined) this.published.add(messageId);
    await new Promise<void>((resolve, reject) => {
      this.channel.publish(
        exchange,
        '',
        content,
        {
          persistent: true,
          contentType: 'application/json',
          messageId,
          type: options.type ?? envelope.type,
          headers: options.headers ?? {},
        },
        (error) => (error ? reject(error) : resolve()),
      );
    });
  }

  /** Messages ready in a queue, counted by the broker itself (management stats lag). */
  async depth(queue: string): Promise<number> {
    return (await this.channel.checkQueue(queue)).messageCount;
  }

  /** Takes every message currently in `queue` (acking them). */
  async drain(queue: string): Promise<GetMessage[]> {
    const out: GetMessage[] = [];
    for (;;) {
      const message = await this.channel.get(queue, { noAck: true });
      if (!message) return out;
      out.push(message);
    }
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}
