import type { Handler } from '@troupe/messaging';
import type { Mailer } from '../domain/mailer';
import type { NotificationStore } from '../domain/notification-store';
import { notifyCustomer } from '../domain/notify-customer';

export const onInventoryReserved =
  (notifications: NotificationStore, mailer: Mailer): Handler<'InventoryReserved'> =>
  async (event, ctx) => {
    const { customer, items } = event.data;
    await notifyCustomer(ctx, notifications, mailer, { orderId: event.orderId, kind: 'ORDER_CONFIRMED', customer, items });
  };
