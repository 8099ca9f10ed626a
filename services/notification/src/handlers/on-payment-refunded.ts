import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import type { NotificationStore } from '../domain/notification-store';
import { notifyCustomer } from '../domain/notify-customer';

export const onPaymentRefunded =
  (notifications: NotificationStore, mailer: Mailer): Handler<'PaymentRefunded'> =>
  async (event, ctx) => {
    const { customer, amount, reason } = event.data;
    await notifyCustomer(ctx, notifications, mailer, { orderId: event.orderId, kind: 'ORDER_CANCELLED_REFUNDED', customer, amount, reason });
  };
