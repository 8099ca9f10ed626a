import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import type { NotificationStore } from '../domain/notification-store';
import { notifyCustomer } from '../domain/notify-customer';

export const onPaymentFailed =
  (notifications: NotificationStore, mailer: Mailer): Handler<'PaymentFailed'> =>
  async (event, ctx) => {
    const { customer, amount, reason } = event.data;
    await notifyCustomer(ctx, notifications, mailer, { orderId: event.orderId, kind: 'PAYMENT_DECLINED', customer, amount, reason });
  };
