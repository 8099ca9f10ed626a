import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { observerQueueOf } from '@troupe/contracts';
import { BrokerConnection } from '@troupe/messaging/broker';
import type { Logger } from 'pino';

export interface WatchOptions {
  url: string;
  logger: Logger;
  /** The exchanges to watch: the AsyncAPI document's channels. */
  exchanges: string[];
  /** Most messages each of the observer's queues keeps while it falls behind (the oldest are dropped). */
  maxLength: number;
  giveUpAfterMs: number;
  onMessage: (exchange: string, message: ConsumeMessage) => void;
  /**
   * Told once every queue is consumed again after a gap, when messages went by unseen: the start
   * (everything before it), and every reconnect (the exclusive queues went with the connection, and
   * whatever was published until each was declared and bound again). `resumedAtMs`: when the last
   * queue was consumed again.
   */
  onGap: (resumedAtMs: number) => void;
  onFatal: (error: Error) => void;
}

/** What a passive declare says of a queue: its ready messages and consumers. */
export interface QueueDepth {
  ready: number;
  consumers: number;
}

/**
 * The observer's place on the broker: on every (re)connect, a queue of its own on each exchange
 * (`observer.<exchange>`: exclusive, so it goes with the connection; auto-deleted; bounded, the
 * oldest dropped first), consumed without acks. No acks: what it counts is a tally over a window
 * that a restart empties anyway, so a message lost with a dropped connection costs one count, and
 * nothing waits on the broker for the observer (no unacked messages, no prefetch to tune); when it
 * falls behind, the bound and drop-head keep the broker's memory flat and the newest traffic
 * first. It also reads the depth of the services' queues by passive declares, which need no
 * permission on them: the observer's user can configure, write and read only its own queues.
 */
export class BrokerWatch {
  private readonly connection: BrokerConnection;
  private model: ChannelModel | undefined;
  private inspector: Promise<Channel> | undefined;
  /** Passive declares one at a time: a refused one (404) closes the channel, which must not fail the others in flight. */
  private inspecting: Promise<unknown> = Promise.resolve();
  private consuming = new Set<string>();

  constructor(private readonly options: WatchOptions) {
    this.connection = new BrokerConnection({
      url: options.url,
      name: `observer@${process.pid}`,
      logger: options.logger,
      heartbeatSeconds: 10,
      giveUpAfterMs: options.giveUpAfterMs,
      setup: (model) => this.setup(model),
      onDisconnect: (error) => {
        this.model = undefined;
        this.inspector = undefined;
        this.consuming.clear();
        options.logger.warn({ err: error.message }, 'lost the broker; reconnecting');
      },
      onFatal: options.onFatal,
    });
  }

  /** Connected, with a consumer on every exchange's queue. */
  get ready(): boolean {
    return this.model !== undefined && this.options.exchanges.every((e) => this.consuming.has(e));
  }

  async start(): Promise<void> {
    await this.connection.open();
  }

  /** The depth of `queue`, or undefined when it does not exist or the broker refused to say. */
  depth(queue: string): Promise<QueueDepth | undefined> {
    const next = this.inspecting.then(() => this.declarePassively(queue));
    this.inspecting = next;
    return next;
  }

  private async declarePassively(queue: string): Promise<QueueDepth | undefined> {
    const model = this.model;
    if (!model) return undefined;
    try {
      if (!this.inspector) {
        const opened: Promise<Channel> = model.createChannel().then((channel) => {
          // A refused declare closes the channel: the next read opens another.
          channel.on('error', () => undefined);
          channel.on('close', () => {
            if (this.inspector === opened) this.inspector = undefined;
          });
          return channel;
        });
        this.inspector = opened;
      }
      const channel = await this.inspector;
      const { messageCount, consumerCount } = await channel.checkQueue(queue);
      return { ready: messageCount, consumers: consumerCount };
    } catch {
      this.inspector = undefined;
      return undefined;
    }
  }

  async stop(): Promise<void> {
    await this.connection.close();
  }

  private async setup(model: ChannelModel): Promise<void> {
    this.consuming.clear();
    for (const exchange of this.options.exchanges) {
      const channel = await model.createChannel();
      channel.on('error', (error: Error) => this.options.logger.warn({ err: error.message, exchange }, 'observer channel error'));
      const queue = observerQueueOf(exchange);
      await channel.assertQueue(queue, {
        exclusive: true,
        autoDelete: true,
        durable: false,
        arguments: { 'x-max-length': this.options.maxLength, 'x-overflow': 'drop-head' },
      });
      await channel.bindQueue(queue, exchange, '');
      await channel.consume(queue, (message) => message && this.options.onMessage(exchange, message), { noAck: true });
      this.consuming.add(exchange);
    }
    this.model = model;
    this.inspector = undefined;
    this.options.logger.info({ exchanges: this.options.exchanges }, 'watching the exchanges');
    this.options.onGap(Date.now());
  }
}
