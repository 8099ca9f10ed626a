import { describe, expect, it } from 'vitest';
import { OrderWindow, type OrderEvent } from './orders';
import { consistency, inconsistencies, settleState } from './rules';

const ORDER = '00000000-0000-4000-8000-000000000001';
let n = 0;
const event = (type: string, extra: Partial<OrderEvent> = {}): OrderEvent => ({ id: `e${++n}`, type, orderId: ORDER, ...extra });

/** A window holding one order with `events`, seen one millisecond apart from t=0. */
function orderWith(...events: OrderEvent[]) {
  const window = new OrderWindow(60_000, 100);
  events.forEach((e, i) => window.add(e, i));
  return window.get(ORDER)!;
}

describe('order-settles', () => {
  it('when an order is confirmed to the customer, then it is settled (COMPLETED)', () => {
    const track = orderWith(event('OrderPlaced'), event('PaymentCompleted'), event('InventoryReserved'), event('NotificationSent', { kind: 'ORDER_CONFIRMED' }));
    expect(track.settlement).toBe('COMPLETED');
    expect(settleState(track, 1_000_000, 1000)).toBe('settled');
  });

  it('when payment fails or is refunded, then it is settled (CANCELLED), whatever the customer was told', () => {
    expect(orderWith(event('OrderPlaced'), event('PaymentFailed')).settlement).toBe('CANCELLED');
    expect(orderWith(event('OrderPlaced'), event('PaymentCompleted'), event('InventoryRejected'), event('PaymentRefunded')).settlement).toBe('CANCELLED');
    expect(orderWith(event('OrderPlaced'), event('NotificationSent', { kind: 'PAYMENT_DECLINED' })).settlement).toBeUndefined();
  });

  it('when an order is not settled, then it waits within the bound and is overdue past it', () => {
    const track = orderWith(event('OrderPlaced'), event('PaymentCompleted'));
    expect(settleState(track, 1000, 1000)).toBe('waiting');
    expect(settleState(track, 1001, 1000)).toBe('overdue');
  });

  it('when its OrderPlaced was not seen, then there is no clock to judge it by', () => {
    expect(settleState(orderWith(event('PaymentCompleted')), 1_000_000, 1000)).toBe('unjudged');
  });

  it('when it was under way across a gap in the watch, then it is not judged (it may have settled unseen)', () => {
    const window = new OrderWindow(60_000, 100);
    window.add(event('OrderPlaced'), 0);
    window.noteGap(5_000);
    expect(settleState(window.get(ORDER)!, 1_000_000, 1000)).toBe('unjudged');
  });
});

describe('events-consistent', () => {
  it('when each path of the workflow runs its course, then its events are consistent', () => {
    const completed = orderWith(event('OrderPlaced'), event('PaymentCompleted'), event('InventoryReserved'), event('NotificationSent', { kind: 'ORDER_CONFIRMED' }));
    const declined = orderWith(event('OrderPlaced'), event('PaymentFailed'), event('NotificationSent', { kind: 'PAYMENT_DECLINED' }));
    const refunded = orderWith(event('OrderPlaced'), event('PaymentCompleted'), event('InventoryRejected'), event('PaymentRefunded'), event('NotificationSent', { kind: 'ORDER_CANCELLED_REFUNDED' }));
    expect([completed, declined, refunded].map(inconsistencies)).toEqual([[], [], []]);
  });

  it('when an event arrives twice under one id, then it counts once', () => {
    const reserved = event('InventoryReserved');
    expect(inconsistencies(orderWith(event('OrderPlaced'), event('PaymentCompleted'), reserved, reserved, event('NotificationSent', { kind: 'ORDER_CONFIRMED' })))).toEqual([]);
  });

  it('when a rule is broken, then each broken rule is named', () => {
    expect(inconsistencies(orderWith(event('PaymentCompleted'), event('InventoryReserved'), event('InventoryRejected'), event('PaymentRefunded'), event('NotificationSent', { kind: 'ORDER_CONFIRMED' })))).toEqual([
      'PaymentCompleted is followed by 1 InventoryReserved and 1 InventoryRejected: exactly one of them expected',
    ]);
    expect(inconsistencies(orderWith(event('PaymentFailed'), event('InventoryReserved'), event('NotificationSent', { kind: 'PAYMENT_DECLINED' })))).toEqual(['InventoryReserved without a PaymentCompleted']);
    expect(inconsistencies(orderWith(event('PaymentCompleted'), event('InventoryRejected'), event('NotificationSent', { kind: 'ORDER_CONFIRMED' })))).toEqual(['InventoryRejected is not followed by PaymentRefunded']);
    expect(inconsistencies(orderWith(event('PaymentFailed')))).toEqual(['0 NotificationSent for a CANCELLED order: exactly one expected']);
  });

  it('when a settled order has had its grace since its last event, then the rules an event too many breaks are judged', () => {
    const bounds = { graceMs: 500, settleWithinMs: 5000 };
    const twice = orderWith(event('OrderPlaced'), event('PaymentFailed'), event('NotificationSent', { kind: 'PAYMENT_DECLINED' }), event('NotificationSent', { kind: 'PAYMENT_DECLINED' }));
    expect(consistency(twice, 502, bounds)).toBeUndefined();
    expect(consistency(twice, 503, bounds)).toEqual({ problems: ['2 NotificationSent for a CANCELLED order: exactly one expected'], holds: false });
    expect(consistency(orderWith(event('OrderPlaced')), 10_000, bounds)).toBeUndefined();
  });

  it('when an event is missing, then it is reported only once the order has been quiet for the settle bound (a retry may still bring it)', () => {
    const bounds = { graceMs: 500, settleWithinMs: 5000 };
    const declined = orderWith(event('OrderPlaced'), event('PaymentFailed'));
    expect(consistency(declined, 1000, bounds)).toEqual({ problems: [], holds: false });
    expect(consistency(declined, 5001, bounds)).toEqual({ problems: ['0 NotificationSent for a CANCELLED order: exactly one expected'], holds: false });
  });

  it('when its OrderPlaced was not seen (placed before the observer started), then it is not judged', () => {
    const track = orderWith(event('InventoryReserved'), event('NotificationSent', { kind: 'ORDER_CONFIRMED' }));
    expect(consistency(track, 1_000_000, { graceMs: 0, settleWithinMs: 0 })).toBeUndefined();
  });

  it('when the watch had a gap while the order was under way, then its missing events prove nothing, but one too many still counts', () => {
    const window = new OrderWindow(60_000, 100);
    window.add(event('OrderPlaced'), 0);
    window.noteGap(1000);
    // PaymentCompleted went by in the gap.
    window.add(event('InventoryReserved'), 1200);
    const notified = event('NotificationSent', { kind: 'ORDER_CONFIRMED' });
    window.add(notified, 1300);
    const track = window.get(ORDER)!;
    expect(track.partial).toBe(true);
    expect(consistency(track, 100_000, { graceMs: 0, settleWithinMs: 0 })).toEqual({ problems: [], holds: true });
    window.add({ ...notified, id: 'again' }, 1400);
    expect(consistency(track, 100_000, { graceMs: 0, settleWithinMs: 0 })?.problems).toEqual(['2 NotificationSent for a COMPLETED order: exactly one expected']);
  });

  it('when an order is first seen after a gap by an event that occurred before its end, then it is seen in part; one that occurred after is whole', () => {
    const window = new OrderWindow(60_000, 100);
    window.noteGap(1000);
    window.add({ id: 'a', type: 'OrderPlaced', orderId: 'early', occurredAtMs: 999 }, 1050);
    window.add({ id: 'b', type: 'OrderPlaced', orderId: 'late', occurredAtMs: 1000 }, 1050);
    expect([window.get('early')?.partial, window.get('late')?.partial]).toEqual([true, false]);
  });
});

describe('the window of orders', () => {
  it('when orders have had no event for the window, then they leave it, unless a violation holds them (for at most a second window)', () => {
    const held = new Set(['held']);
    const window = new OrderWindow(1000, 100, (id) => held.has(id));
    window.add({ id: 'a', type: 'OrderPlaced', orderId: 'old' }, 0);
    window.add({ id: 'b', type: 'OrderPlaced', orderId: 'held' }, 10);
    window.add({ id: 'c', type: 'OrderPlaced', orderId: 'busy' }, 20);
    window.add({ id: 'd', type: 'OrderPlaced', orderId: 'new' }, 900);
    // An event keeps an order in the window, however long ago it was first seen.
    window.add({ id: 'e', type: 'PaymentCompleted', orderId: 'busy' }, 1400);
    expect(window.prune(1500).map((t) => t.orderId)).toEqual(['old']);
    expect(window.prune(2100).map((t) => t.orderId)).toEqual(['held', 'new']);
    expect([...window.all()].map((t) => t.orderId)).toEqual(['busy']);
  });

  it('when more orders arrive than it holds, then the oldest nothing holds is evicted, and handed back to be cleaned up after', () => {
    const held = new Set(['a']);
    const window = new OrderWindow(60_000, 2, (id) => held.has(id));
    expect(window.add({ id: 'a', type: 'OrderPlaced', orderId: 'a' }, 0).evicted).toBeUndefined();
    window.add({ id: 'b', type: 'OrderPlaced', orderId: 'b' }, 1);
    expect(window.add({ id: 'c', type: 'OrderPlaced', orderId: 'c' }, 2).evicted?.orderId).toBe('b');
    held.clear();
    expect(window.add({ id: 'd', type: 'OrderPlaced', orderId: 'd' }, 3).evicted?.orderId).toBe('a');
    expect([...window.all()].map((t) => t.orderId)).toEqual(['c', 'd']);
  });
});
