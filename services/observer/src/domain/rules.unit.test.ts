import { describe, expect, it } from 'vitest';
import { OrderWindow, type OrderEvent } from './orders';
import { inconsistencies, readyForConsistency, settleState } from './rules';

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
    expect(settleState(orderWith(event('PaymentCompleted')), 1_000_000, 1000)).toBe('unanchored');
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

  it('when a settled order has had its grace since its last event, then it is judged', () => {
    const track = orderWith(event('OrderPlaced'), event('PaymentFailed'));
    expect(readyForConsistency(track, 500, 500)).toBe(false);
    expect(readyForConsistency(track, 501, 500)).toBe(true);
    expect(readyForConsistency(orderWith(event('OrderPlaced')), 10_000, 500)).toBe(false);
  });
});

describe('the window of orders', () => {
  it('when orders are older than the window, then they leave it, unless a violation holds them (for at most a second window)', () => {
    const window = new OrderWindow(1000, 100);
    window.add({ id: 'a', type: 'OrderPlaced', orderId: 'old' }, 0);
    window.add({ id: 'b', type: 'OrderPlaced', orderId: 'held' }, 10);
    window.add({ id: 'c', type: 'OrderPlaced', orderId: 'new' }, 900);
    expect(window.prune(1500, (id) => id === 'held').map((t) => t.orderId)).toEqual(['old']);
    expect(window.prune(2100, (id) => id === 'held').map((t) => t.orderId)).toEqual(['held', 'new']);
  });

  it('when more orders arrive than it holds, then the oldest leave first', () => {
    const window = new OrderWindow(60_000, 2);
    for (const id of ['a', 'b', 'c']) window.add({ id, type: 'OrderPlaced', orderId: id }, 0);
    expect([...window.all()].map((t) => t.orderId)).toEqual(['b', 'c']);
  });
});
