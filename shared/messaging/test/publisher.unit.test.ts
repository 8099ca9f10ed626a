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
  return {
    channel: channel as unknown as ConfirmChannel,
    pending,
    confirmAll: () => pending.splice(0).forEach((confirm) => confirm(null)),
  };
}

/** A publisher with `confirmTimeoutMs`, and what it reported: each stall's reason, each recovery. */
function aPublisher(confirmTimeoutMs: number) {
  const reported: string[] = [];
  const publisher = new ConfirmPublisher({
    confirmTimeoutMs,
    onStalled: (reason) => reported.push(`stalled: ${reason}`),
    onRecovered: () => reported.push('recovered'),
  });
  return { publisher, reported };
}

const publish = (publisher: ConfirmPublisher, id: string) => publisher.publish('order.events', '', Buffer.from('{}'), { messageId: id });

describe('ConfirmPublisher', () => {
  it('when the broker confirms in time, then publish resolves and the channel stays in use', async () => {
    const { publisher, reported } = aPublisher(200);
    const { channel, confirmAll } = fakeChannel();
    publisher.attach(channel);
    const published = publish(publisher, 'a');
    await new Promise(setImmediate);
    confirmAll();
    await expect(published).resolves.toBeUndefined();
    expect(publisher.ready).toBe(true);
    expect(reported).toEqual([]);
  });

  it('when the broker does not confirm in time, then every publish waiting fails as the broker being away, and publishing stops until a confirm comes again', async () => {
    const { publisher, reported } = aPublisher(50);
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
    expect(reported).toEqual(['stalled: broker did not confirm a within 50 ms']);
    // Stalled: a publish fails at once, without sending anything on the silent channel.
    await expect(publish(publisher, 'c')).rejects.toThrow('the broker has not confirmed a publish for over 50 ms');
    // The broker answers at last: the late confirms bring the channel back into use.
    confirmAll();
    expect(publisher.ready).toBe(true);
    expect(reported).toEqual(['stalled: broker did not confirm a within 50 ms', 'recovered']);
    const published = publish(publisher, 'd');
    await new Promise(setImmediate);
    confirmAll();
    await expect(published).resolves.toBeUndefined();
  });

  it('when a late answer is a nack (a queue refused it), then the broker answered: publishing resumes; a publish unanswered as its channel closes does not count', async () => {
    const { publisher, reported } = aPublisher(50);
    const { channel, pending, confirmAll } = fakeChannel();
    publisher.attach(channel);
    await Promise.allSettled([publish(publisher, 'a'), publish(publisher, 'b')]);
    expect(publisher.ready).toBe(false);
    pending.shift()?.(new Error('channel closed'));
    expect(publisher.ready).toBe(false);
    pending.shift()?.(new Error('message nacked'));
    expect(publisher.ready).toBe(true);
    expect(reported).toEqual(['stalled: broker did not confirm a within 50 ms', 'recovered']);
    const published = publish(publisher, 'c');
    await new Promise(setImmediate);
    confirmAll();
    await expect(published).resolves.toBeUndefined();
  });

  it('when a new channel is attached after a stall (the connection was lost and rebuilt), then publishing resumes on it', async () => {
    const { publisher } = aPublisher(50);
    publisher.attach(fakeChannel().channel);
    await expect(publish(publisher, 'a')).rejects.toBeInstanceOf(BrokerUnavailableError);
    expect(publisher.ready).toBe(false);
    publisher.attach(fakeChannel().channel);
    expect(publisher.ready).toBe(true);
  });

  it('when the broker pushes back and never drains, then the publishes waiting behind it fail after the same bound', async () => {
    const { publisher } = aPublisher(50);
    const { channel } = fakeChannel({ accepts: false });
    publisher.attach(channel);
    const first = publish(publisher, 'a');
    const second = publish(publisher, 'b');
    await expect(first).rejects.toBeInstanceOf(BrokerUnavailableError);
    await expect(second).rejects.toBeInstanceOf(BrokerUnavailableError);
  });
});
