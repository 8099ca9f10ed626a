import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import { notifyCustomer } from '../domain/notify-customer';

export const onPaymentRefunded =
  (mailer: Mailer): Handler<'PaymentRefunded'> =>
  async (event, ctx) => {
    const { customer, amount, reason } = event.data;
    await notifyCustomer(ctx, mailer, { orderId: event.orderId, kind: 'ORDER_CANCELLED_REFUNDED', customer, amount, reason });
  };
