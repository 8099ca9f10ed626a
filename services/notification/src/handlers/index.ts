import { subscribe, type Subscription } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import type { NotificationStore } from '../domain/notification-store';
import { onInventoryReserved } from './on-inventory-reserved';
import { onPaymentFailed } from './on-payment-failed';
import { onPaymentRefunded } from './on-payment-refunded';

/** Everything the notification service listens to: each way an order can end. */
export const subscriptions = (notifications: NotificationStore, mailer: Mailer): Subscription[] => [
  subscribe('payment.events', { PaymentFailed: onPaymentFailed(notifications, mailer), PaymentRefunded: onPaymentRefunded(notifications, mailer) }),
  subscribe('inventory.events', { InventoryReserved: onInventoryReserved(notifications, mailer) }),
];
