import { randomUUID } from 'node:crypto';
import type { EventData, EventType, OrderRequest } from '@troupe/contracts';

/** A valid POST /orders body; override what the test is about. */
export function anOrderRequest(overrides: Partial<OrderRequest> = {}): OrderRequest {
  return {
    customerId: 'cust-42',
    email: 'ada@example.com',
    items: [{ sku: 'SKU-TSHIRT', quantity: 2 }],
    paymentMethod: { token: 'tok_visa' },
    ...overrides,
  };
}

const customer = { customerId: 'cust-42', email: 'ada@example.com' };
const amount = { amountCents: 3000, currency: 'USD' };
const items = [{ sku: 'SKU-TSHIRT', quantity: 2, unitPriceCents: 1500 }];

/** Valid `data` for each event type. */
export const sampleData: { [T in EventType]: () => EventData[T] } = {
  OrderPlaced: () => ({ customer, items, total: amount, paymentMethod: { token: 'tok_visa' } }),
  PaymentCompleted: () => ({ paymentId: randomUUID(), amount, customer, items }),
  PaymentFailed: () => ({ amount, customer, reason: 'card declined' }),
  PaymentRefunded: () => ({ paymentId: randomUUID(), amount, customer, reason: 'stock rejected' }),
  InventoryReserved: () => ({ reservationId: randomUUID(), customer, items: [{ sku: 'SKU-TSHIRT', quantity: 2 }] }),
  InventoryRejected: () => ({
    customer,
    reason: 'not enough stock',
    unavailable: [{ sku: 'SKU-SOLDOUT', requested: 1, available: 0 }],
  }),
  NotificationSent: () => ({ notificationId: randomUUID(), kind: 'ORDER_CONFIRMED', channel: 'log' }),
};

/** A full envelope, as a producer would publish it. */
export function anEvent<T extends EventType>(
  type: T,
  overrides: { orderId?: string; id?: string; data?: Partial<EventData[T]> } = {},
) {
  return {
    id: overrides.id ?? randomUUID(),
    type,
    version: 1,
    occurredAt: new Date().toISOString(),
    orderId: overrides.orderId ?? randomUUID(),
    data: { ...sampleData[type](), ...overrides.data },
  };
}
