import { describe, expect, it } from 'vitest';
import type { Choreography } from './choreography';
import { DriftLog } from './drift';
import { SlidingCount } from './rate';
import { Traffic, type Seen } from './traffic';

const choreography: Choreography = {
  exchanges: [
    { name: 'order.events', producer: 'order' },
    { name: 'payment.events', producer: 'payment' },
  ],
  carries: new Map([
    ['order.events', new Map([['OrderPlaced', new Set([1])]])],
    ['payment.events', new Map([['PaymentCompleted', new Set([1])], ['PaymentFailed', new Set([1])]])],
  ]),
  edges: [
    { id: 'order.events/OrderPlaced/payment', exchange: 'order.events', producer: 'order', type: 'OrderPlaced', subscriber: 'payment', queue: 'payment.order.events' },
    { id: 'payment.events/PaymentFailed/order', exchange: 'payment.events', producer: 'payment', type: 'PaymentFailed', subscriber: 'order', queue: 'order.payment.events' },
  ],
  subscriptions: [
    { service: 'payment', exchange: 'order.events', queue: 'payment.order.events' },
    { service: 'order', exchange: 'payment.events', queue: 'order.payment.events' },
  ],
};
const seen = (exchange: string, type: string, atMs: number, version: number | undefined = 1): Seen => ({ exchange, type, version, body: `{"type":"${type}"}`, atMs });

describe('the traffic held against the contract', () => {
  it('when messages of a declared type pass, then its edges count those of the last minute and the last one seen', () => {
    const traffic = new Traffic(choreography, new DriftLog(), { windowMs: 10_000, minOrders: 5 }, 0);
    for (const at of [1000, 30_000, 61_500]) expect(traffic.record(seen('order.events', 'OrderPlaced', at))).toBe('declared');
    const edge = traffic.edges(62_000).find((e) => e.type === 'OrderPlaced');
    expect(edge).toMatchObject({ perMinute: 2, lastSeenAt: new Date(61_500).toISOString(), declared: true, silent: false });
    expect(traffic.ordersPerMinute(62_000)).toBe(2);
  });

  it('when a type or a version is not in the contract, then it is drift, with count and sample, and the type an undeclared edge', () => {
    const drift = new DriftLog();
    const traffic = new Traffic(choreography, drift, { windowMs: 10_000, minOrders: 5 }, 0);
    expect(traffic.record(seen('order.events', 'OrderTeleported', 1000))).toBe('undeclared-type');
    traffic.record({ ...seen('order.events', 'OrderTeleported', 2000), body: 'x'.repeat(800) });
    expect(traffic.record(seen('payment.events', 'PaymentFailed', 3000, 2))).toBe('unknown-version');
    expect(traffic.record({ ...seen('payment.events', 'PaymentFailed', 3000), version: undefined })).toBe('unknown-version');
    const entries = drift.list();
    expect(entries[0]).toMatchObject({ kind: 'undeclared-type', exchange: 'order.events', type: 'OrderTeleported', count: 2, firstSeenAt: new Date(1000).toISOString(), lastSeenAt: new Date(2000).toISOString() });
    expect(entries[0]?.sample).toHaveLength(500);
    expect(entries.filter((d) => d.kind === 'unknown-version').map((d) => d.version)).toEqual([2, undefined]);
    expect(traffic.edges(3000).filter((e) => !e.declared)).toEqual([
      expect.objectContaining({ id: 'order.events/OrderTeleported/payment', subscriber: 'payment', queue: 'payment.order.events', perMinute: 2 }),
    ]);
  });

  it('when a declared type is silent while enough orders flow, then its edge is silent and the drift says so until it speaks', () => {
    const drift = new DriftLog();
    const traffic = new Traffic(choreography, drift, { windowMs: 10_000, minOrders: 3 }, 0);
    for (const at of [9000, 10_000, 11_000]) traffic.record(seen('order.events', 'OrderPlaced', at));
    traffic.noteSilence(11_000);
    expect(traffic.edges(11_000).find((e) => e.type === 'PaymentFailed')?.silent).toBe(true);
    expect(drift.list()).toEqual([expect.objectContaining({ kind: 'silent-edge', exchange: 'payment.events', type: 'PaymentFailed', count: 3 })]);
    traffic.record(seen('payment.events', 'PaymentFailed', 12_000));
    traffic.noteSilence(12_000);
    expect(drift.list()).toEqual([]);
  });

  it('when fewer orders than the bound flow, then silence is not judged', () => {
    const traffic = new Traffic(choreography, new DriftLog(), { windowMs: 10_000, minOrders: 3 }, 0);
    traffic.record(seen('order.events', 'OrderPlaced', 20_000));
    expect(traffic.edges(20_000).some((e) => e.silent)).toBe(false);
  });
});

describe('a sliding count', () => {
  it('when seconds pass, then what left the span is no longer counted, late arrivals included', () => {
    const count = new SlidingCount(60_000);
    count.add(1_000);
    count.add(30_000, 2);
    count.add(20_000);
    expect(count.count(30_000)).toBe(4);
    expect(count.count(61_500)).toBe(3);
    expect(count.count(91_000)).toBe(0);
  });
});
