import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import { notifyCustomer } from '../domain/notify-customer';

export const onInventoryReserved =
  (mailer: Mailer): Handler<'InventoryReserved'> =>
  async (event, ctx) => {
    const { customer, items } = event.data;
    await notifyCustomer(ctx, mailer, { orderId: event.orderId, kind: 'ORDER_CONFIRMED', customer, items });
  };
