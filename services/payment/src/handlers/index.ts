import { subscribe, type Subscription } from '@troupe/messaging';
import type { PaymentGateway } from '../domain/gateway';
import { onInventoryRejected } from './on-inventory-rejected';
import { onOrderPlaced } from './on-order-placed';

/** Everything the payment service listens to. */
export const subscriptions = (gateway: PaymentGateway): Subscription[] => [
  subscribe('order.events', { OrderPlaced: onOrderPlaced(gateway) }),
  subscribe('inventory.events', { InventoryRejected: onInventoryRejected(gateway) }),
];
