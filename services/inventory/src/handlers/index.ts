import { subscribe, type Subscription } from '@troupe/messaging';
import type { InventoryFaults } from '../faults';
import { onPaymentCompleted } from './on-payment-completed';

/** Everything the inventory service listens to. */
export const subscriptions = (faults: InventoryFaults): Subscription[] => [subscribe('payment.events', { PaymentCompleted: onPaymentCompleted(faults) })];
