import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import { notifyCustomer } from '../domain/notify-customer';

export const onPaymentFailed =
  (mailer: Mailer): Handler<'PaymentFailed'> =>
  async (event, ctx) => {
    const { customer, amount, reason } = event.data;
    await notifyCustomer(ctx, mailer, { orderId: event.orderId, kind: 'PAYMENT_DECLINED', customer, amount, reason });
  };
