import { EventEmitter } from 'node:events';
import type { ConfirmChannel } from 'amqplib';
import { describe, expect, it } from 'vitest';
import { BrokerUnavailableError, ConfirmPublisher } from '../src';

type Confirm = (error: unknown) => void;

/** A confirm channel whose broker confirms only when told to (`confirmAll`), or never. */
function fakeChannel({ accepts = true } = {}) {
  const pending: Confirm[] = [];
  const channel = Object.assign(new EventEmitter(), {
    publish: (_exchange: string, _key: string, _body: Buffer, _options: unknown, confirm: Confirm) => {
      pending.push(confirm);
      return accepts;
    },
  });
  return { channel: channel as unknown as ConfirmChannel, pending, confirmAll: () => pending.splice(0).forEach((confirm) => confirm(null)) };
}

const publish = (publisher: ConfirmPublisher, id: string) => publisher.publish('order.events', '', Buffer.from('{}'), { messageId: id });

describe('ConfirmPublisher', () => {
  it('when the broker confirms in time, then publish resolves and the channel stays in use', async () => {
    const stalls: string[] = [];
    const publisher = new ConfirmPublisher({ confirmTimeoutMs: 200, onStalled: (reason) => stalls.push(reason) });
    const { channel, confirmAll } = fakeChannel();
    publisher.attach(channel);
    const published = publish(publisher, 'a');
    await new Promise(setImmediate);
    confirmAll();
    await expect(published).resolves.toBeUndefined();
    expect(publisher.ready).toBe(true);
    expect(stalls).toEqual([]);
  });

  it('when the broker does not confirm in time, then every publish waiting fails as the broker being away, the channel is given up and the stall reported once', async () => {
    const stalls: string[] = [];
    const publisher = new ConfirmPublisher({ confirmTimeoutMs: 50, onStalled: (reason) => stalls.push(reason) });
    const { channel, confirmAll } = fakeChannel();
    publisher.attach(channel);
    const started = performance.now();
    const results = await Promise.allSettled([publish(publisher, 'a'), publish(publisher, 'b')]);
    expect(performance.now() - started).toBeLessThan(1000);
    for (const result of results) {
      expect(result.status).toBe('rejected');
      expect((result as PromiseRejectedResult).reason).toBeInstanceOf(BrokerUnavailableError);
    }
    expect(String((results[0] as PromiseRejectedResult).reason.message)).toBe('broker did not confirm a within 50 ms');
    expect(publisher.ready).toBe(false);
    expect(stalls).toHaveLength(1);
    // A confirm that comes late changes nothing; later publishes fail at once until a new channel.
    confirmAll();
    await expect(publish(publisher, 'c')).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(stalls).toHaveLength(1);
  });

  it('when the broker pushes back and never drains, then the publishes waiting behind it fail after the same bound', async () => {
    const publisher = new ConfirmPublisher({ confirmTimeoutMs: 50, onStalled: () => undefined });
    const { channel } = fakeChannel({ accepts: false });
    publisher.attach(channel);
    const first = publish(publisher, 'a');
    const second = publish(publisher, 'b');
    await expect(first).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(second).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});
