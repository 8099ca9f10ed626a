import { subscribe, type Subscription } from '@troupe/messaging';
import { onPaymentCompleted } from './on-payment-completed';

/** Everything the inventory service listens to. */
export const subscriptions = (): Subscription[] => [subscribe('payment.events', { PaymentCompleted: onPaymentCompleted })];
