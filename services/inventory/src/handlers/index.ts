import { subscribe, type Subscription } from '@troupe/messaging';
import type { StockStore } from '../domain/stock-store';
import type { InventoryFaults } from '../faults';
import { onPaymentCompleted } from './on-payment-completed';

/** Everything the inventory service listens to. */
export const subscriptions = (stock: StockStore, faults: InventoryFaults): Subscription[] => [
  subscribe('payment.events', { PaymentCompleted: onPaymentCompleted(stock, faults) }),
];
