import { describe, expect, it } from 'vitest';
import type { OrderStatus } from '@troupe/contracts';
import { nextStatus, statusAfter } from './order-status';

const replay = (events: Parameters<typeof statusAfter>[]): OrderStatus =>
  events.reduce<OrderStatus>((status, [type, data]) => nextStatus(status, statusAfter(type, data)), 'PENDING');

const confirmed = { notificationId: crypto.randomUUID(), kind: 'ORDER_CONFIRMED', channel: 'log' } as const;
const declinedNote = { notificationId: crypto.randomUUID(), kind: 'PAYMENT_DECLINED', channel: 'log' } as const;
const any = {} as never;

describe('order status', () => {
  it('when the happy path arrives in order, then PENDING → PAID → RESERVED → COMPLETED', () => {
    expect(replay([['PaymentCompleted', any]])).toBe('PAID');
    expect(replay([['PaymentCompleted', any], ['InventoryReserved', any]])).toBe('RESERVED');
    expect(replay([['PaymentCompleted', any], ['InventoryReserved', any], ['NotificationSent', confirmed]])).toBe('COMPLETED');
  });

  it('when InventoryReserved arrives before PaymentCompleted, then the status never moves back to PAID', () => {
    expect(replay([['InventoryReserved', any], ['PaymentCompleted', any]])).toBe('RESERVED');
  });

  it('when the confirmation arrives first, then the order is COMPLETED and stays so', () => {
    expect(replay([['NotificationSent', confirmed], ['PaymentCompleted', any], ['InventoryReserved', any]])).toBe('COMPLETED');
  });

  it('when payment fails, then the order is CANCELLED and the decline notice changes nothing', () => {
    expect(replay([['PaymentFailed', any], ['NotificationSent', declinedNote]])).toBe('CANCELLED');
  });

  it('when stock is rejected, then the order stays PAID until the refund cancels it', () => {
    expect(replay([['PaymentCompleted', any], ['InventoryRejected', any]])).toBe('PAID');
    expect(replay([['PaymentCompleted', any], ['InventoryRejected', any], ['PaymentRefunded', any]])).toBe('CANCELLED');
  });

  it('when an order is terminal, then no later event changes it', () => {
    expect(nextStatus('CANCELLED', 'COMPLETED')).toBe('CANCELLED');
    expect(nextStatus('COMPLETED', 'CANCELLED')).toBe('COMPLETED');
  });
});
