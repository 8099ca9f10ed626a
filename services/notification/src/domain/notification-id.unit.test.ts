import { describe, expect, it } from 'vitest';
import { notificationIdOf, uuidV5 } from './notification-id';

const orderId = '4b0c2a52-9d1e-4f7a-8c3b-2e6d5f1a0b9c';

describe('notification ids', () => {
  it('are RFC 9562 version-5 UUIDs (the RFC\'s example: www.example.com in the DNS namespace)', () => {
    expect(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('are the same for the same order and kind, on every attempt', () => {
    expect(notificationIdOf(orderId, 'ORDER_CONFIRMED')).toBe(notificationIdOf(orderId, 'ORDER_CONFIRMED'));
    expect(notificationIdOf(orderId, 'ORDER_CONFIRMED')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('differ between kinds and between orders', () => {
    const ids = new Set([
      notificationIdOf(orderId, 'ORDER_CONFIRMED'),
      notificationIdOf(orderId, 'PAYMENT_DECLINED'),
      notificationIdOf(orderId, 'ORDER_CANCELLED_REFUNDED'),
      notificationIdOf('9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a', 'ORDER_CONFIRMED'),
    ]);
    expect(ids.size).toBe(4);
  });
});
