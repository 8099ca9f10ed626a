import type { NotificationKind } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import type { Mailer } from './mailer';
import { composeMessage } from './messages';
import { notificationIdOf } from './notification-id';
import type { NotificationStore } from './notification-store';

export interface Outcome {
  orderId: string;
  kind: NotificationKind;
  customer: { customerId: string; email: string };
  amount?: { amountCents: number; currency: string };
  reason?: string;
  items?: { sku: string; quantity: number }[];
}

/**
 * Tells the customer how their order ended, records it, and announces NotificationSent.
 * The record is written first: if this order already had this notification, nothing is sent.
 * The mail goes out inside the transaction, so a failed send rolls the record back and is
 * retried; a crash between send and commit can repeat a mail, never lose one. The id comes from
 * (order, kind), so every attempt sends the same Message-ID.
 */
export async function notifyCustomer(uow: UnitOfWork, notifications: NotificationStore, mailer: Mailer, outcome: Outcome): Promise<void> {
  const id = notificationIdOf(outcome.orderId, outcome.kind);
  const message = composeMessage(outcome.kind, outcome.orderId, outcome);
  const fresh = await notifications.insertNotification(uow.db, {
    id,
    orderId: outcome.orderId,
    kind: outcome.kind,
    channel: mailer.channel,
    recipient: outcome.customer.email,
    subject: message.subject,
    body: message.text,
  });
  if (!fresh) return;
  await mailer.send({ id, to: outcome.customer.email, subject: message.subject, text: message.text });
  uow.publish('NotificationSent', outcome.orderId, { notificationId: id, kind: outcome.kind, channel: mailer.channel });
}
