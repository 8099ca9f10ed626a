import { subscribe, type Subscription } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import { onInventoryReserved } from './on-inventory-reserved';
import { onPaymentFailed } from './on-payment-failed';
import { onPaymentRefunded } from './on-payment-refunded';

/** Everything the notification service listens to: each way an order can end. */
export const subscriptions = (mailer: Mailer): Subscription[] => [
  subscribe('payment.events', { PaymentFailed: onPaymentFailed(mailer), PaymentRefunded: onPaymentRefunded(mailer) }),
  subscribe('inventory.events', { InventoryReserved: onInventoryReserved(mailer) }),
];
