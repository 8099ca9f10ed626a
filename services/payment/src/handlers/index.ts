import { subscribe, type Subscription } from '@troupe/messaging';
import type { PaymentGateway } from '../domain/gateway';
import type { PaymentStore } from '../domain/payment-store';
import { onInventoryRejected } from './on-inventory-rejected';
import { onOrderPlaced } from './on-order-placed';

/** Everything the payment service listens to. */
export const subscriptions = (payments: PaymentStore, gateway: PaymentGateway): Subscription[] => [
  subscribe('order.events', { OrderPlaced: onOrderPlaced(payments, gateway) }),
  subscribe('inventory.events', { InventoryRejected: onInventoryRejected(payments, gateway) }),
];
