import type { ConfirmChannel, Options } from 'amqplib';
import { BrokerUnavailableError, UnroutableError } from '../errors';

export interface ConfirmPublisherOptions {
  /** Longest wait for a publish's confirm (back-pressure included) before the broker counts as away. */
  confirmTimeoutMs: number;
  /** A confirm did not come in time: publishing stops until the broker confirms again. */
  onStalled: (reason: string) => void;
  /** The broker confirmed again after a stall: publishing may resume. */
  onRecovered: () => void;
}

/**
 * Publishes on a confirm channel and resolves only once the broker has confirmed the message
 * *and* routed it to at least one queue (`mandatory`: a confirm alone says nothing about routing).
 * Honours back-pressure: when `publish` returns false, later publishes wait for `drain`.
 *
 * Every publish is bounded (decision 0025): its caller may hold a transaction and row locks while
 * it waits (the outbox claim), and a broker under a resource alarm, or one that hangs, never
 * confirms. Past `confirmTimeoutMs` the publish fails as the broker's outage and the publisher
 * *stalls*: `ready` turns false and every publish fails at once, so the events stay in the outbox,
 * until a confirm comes on the channel again (every publish is confirmed in the end, or its channel
 * closes). The connection is kept: recycling it would hand back every message its consumers hold,
 * which RabbitMQ 4 counts towards their delivery limit, over and over while the broker stays
 * silent. A confirm that was merely late makes a duplicate, which consumers' inboxes absorb.
 */
export class ConfirmPublisher {
  constructor(private readonly options: ConfirmPublisherOptions) {}

  private channel: ConfirmChannel | undefined;
  private stalled = false;
  private drained: Promise<void> = Promise.resolve();
  /** messageIds the broker returned as unroutable; the return always precedes the confirm. */
  private readonly returned = new Map<string, number>();

  attach(channel: ConfirmChannel): void {
    this.channel = channel;
    this.stalled = false;
    this.drained = Promise.resolve();
    this.returned.clear();
    channel.on('return', (message) => {
      const id = String(message.properties.messageId ?? '');
      this.returned.set(id, (this.returned.get(id) ?? 0) + 1);
    });
    channel.on('close', () => {
      if (this.channel === channel) this.channel = undefined;
    });
  }

  detach(): void {
    this.channel = undefined;
  }

  get ready(): boolean {
    return this.channel !== undefined && !this.stalled;
  }

  async publish(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
    const { confirmTimeoutMs, onStalled } = this.options;
    if (this.stalled) throw new BrokerUnavailableError(`the broker has not confirmed a publish for over ${confirmTimeoutMs} ms`);
    const channel = this.channel;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const reason = `broker did not confirm ${String(options.messageId ?? '')} within ${confirmTimeoutMs} ms`;
        reject(new BrokerUnavailableError(reason));
        if (channel !== undefined && this.channel === channel && !this.stalled) {
          this.stalled = true;
          onStalled(reason);
        }
      }, confirmTimeoutMs);
    });
    try {
      await Promise.race([this.send(exchange, routingKey, body, options), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** A confirm came on `channel`: the broker answers again. */
  private confirmed(channel: ConfirmChannel): void {
    if (!this.stalled || this.channel !== channel) return;
    this.stalled = false;
    this.options.onRecovered();
  }

  private async send(exchange: string, routingKey: string, body: Buffer, options: Options.Publish): Promise<void> {
    await this.drained;
    const channel = this.channel;
    if (!channel) throw new BrokerUnavailableError('not connected to the broker');
    const messageId = String(options.messageId ?? '');
    await new Promise<void>((resolve, reject) => {
      let accepted: boolean;
      try {
        // A fresh options object per publish: amqplib (and its instrumentation) mutate it.
        accepted = channel.publish(exchange, routingKey, body, { ...options, mandatory: true }, (error) => {
          // An ack or a nack is the broker answering (a nack: a queue refused it, reject-publish);
          // only a channel closing with the publish unanswered is not.
          if (!error || /nacked/.test(String(error))) this.confirmed(channel);
          if (error) return reject(new BrokerUnavailableError(`broker did not confirm ${messageId}: ${String(error)}`));
          const returns = this.returned.get(messageId) ?? 0;
          if (returns > 0) {
            if (returns === 1) this.returned.delete(messageId);
            else this.returned.set(messageId, returns - 1);
            return reject(new UnroutableError(`no queue is bound to take ${messageId} from '${exchange}'`));
          }
          resolve();
        });
      } catch (error) {
        return reject(new BrokerUnavailableError(`publish failed: ${String(error)}`));
      }
      if (!accepted) {
        this.drained = new Promise((done) => {
          const release = () => {
            channel.off('drain', release);
            channel.off('close', release);
            done();
          };
          channel.once('drain', release);
          channel.once('close', release);
        });
      }
    });
  }
}
