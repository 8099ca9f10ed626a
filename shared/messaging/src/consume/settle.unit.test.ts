import { INVALID_SPAN_CONTEXT, trace } from '@opentelemetry/api';
import { anEvent } from '@troupe/testing';
import type { Channel, ConsumeMessage } from 'amqplib';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ConfirmPublisher } from '../broker/publisher';
import { DependencyError, PermanentError } from '../errors';
import { HEADER } from '../headers';
import { createMessagingMetrics } from '../metrics';
import { ChannelAcks } from './channel-acks';
import type { Delivery } from './delivery';
import { MAX_HAND_BACKS, Settler } from './settle';
import type { Job } from './triage';

/** A settler whose publisher records what it was asked to send, on a channel that records acks and nacks. */
function settler(current = true) {
  const sent: { routingKey: string; headers: Record<string, unknown> }[] = [];
  const settled: string[] = [];
  const publisher = {
    publish: async (_exchange: string, routingKey: string, _body: Buffer, options: { headers: Record<string, unknown> }) => void sent.push({ routingKey, headers: options.headers }),
  } as unknown as ConfirmPublisher;
  const channel = {
    ack: () => settled.push('ack'),
    nack: () => settled.push('nack'),
  } as unknown as Channel;
  const acks = new ChannelAcks(channel);
  if (!current) acks.retire();
  const s = new Settler({
    service: 'payment',
    publisher,
    logger: pino({ level: 'silent' }),
    metrics: createMessagingMetrics(new Registry()),
    retry: { maxAttempts: 3, baseDelayMs: 100 },
    failedAttempts: { record: async () => undefined } as never,
  });
  const job = (headers: Record<string, unknown>): Job => {
    const event = anEvent('OrderPlaced');
    const message = { content: Buffer.from('{}'), fields: { deliveryTag: 1, exchange: 'order.events' }, properties: { messageId: event.id, headers } } as unknown as ConsumeMessage;
    const delivery = { queue: 'payment.order.events', acks, message } as unknown as Delivery;
    const log = pino({ level: 'silent' });
    return { delivery, event, handler: async () => undefined, attempt: 1, span: trace.wrapSpanContext(INVALID_SPAN_CONTEXT), ctx: undefined as never, log, started: 0 };
  };
  return { s, sent, settled, job };
}

const away = () => new DependencyError('card-api', new Error('connect ECONNREFUSED'));
const flushTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('Settler: a dependency away', () => {
  it('when a tried message meets a dependency away, then a copy goes back to its own queue with its hand-backs counted, and the original is acked', async () => {
    const { s, sent, settled, job } = settler();
    await s.settle(job({ [HEADER.handBacks]: 4 }), { kind: 'failed', error: away() });
    await flushTurn();
    expect(sent).toEqual([{ routingKey: 'payment.order.events', headers: expect.objectContaining({ [HEADER.handBacks]: 5, [HEADER.originalExchange]: 'order.events' }) }]);
    expect(sent[0]!.headers[HEADER.attempt]).toBeUndefined();
    expect(settled).toEqual(['ack']);
  });

  it(`when it has been handed back ${MAX_HAND_BACKS} times already, then the failure counts as its own: an attempt spent, through a wait queue`, async () => {
    const { s, sent, job } = settler();
    await s.settle(job({ [HEADER.handBacks]: MAX_HAND_BACKS }), { kind: 'failed', error: away() });
    expect(sent).toEqual([{ routingKey: 'payment.order.events.retry.100ms', headers: expect.objectContaining({ [HEADER.attempt]: 2 }) }]);
  });

  it("when the delivery's channel is gone, then no copy is sent: the broker has the message back already", async () => {
    const { s, sent, settled, job } = settler(false);
    await s.handBack(job({}).delivery);
    expect(sent).toEqual([]);
    expect(settled).toEqual([]);
  });
});

describe('Settler: dead-lettering', () => {
  it("when a handler's error is permanent, then the copy on the DLQ carries the error's name beside its message, for its failure group", async () => {
    const { s, sent, job } = settler();
    await s.settle(job({}), { kind: 'failed', error: new PermanentError('customer 42 blocked') });
    expect(sent).toEqual([
      {
        routingKey: 'payment.dlq',
        headers: expect.objectContaining({ [HEADER.deadLetterReason]: 'permanent', [HEADER.errorName]: 'PermanentError', [HEADER.error]: 'PermanentError: customer 42 blocked' }),
      },
    ]);
  });
});
