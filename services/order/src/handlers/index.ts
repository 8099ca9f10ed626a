import { subscribe, type Subscription } from '@troupe/messaging';
import type { OrderStore } from '../domain/order-store';
import type { OrderMetrics } from '../metrics';
import { onOrderEvent } from './on-order-event';

/** Everything the order service listens to: every event about its orders. */
export function subscriptions(orders: OrderStore, metrics: OrderMetrics): Subscription[] {
  const track = onOrderEvent(orders, metrics);
  return [
    subscribe('payment.events', { PaymentCompleted: track, PaymentFailed: track, PaymentRefunded: track }),
    subscribe('inventory.events', { InventoryReserved: track, InventoryRejected: track }),
    subscribe('notification.events', { NotificationSent: track }),
  ];
}
