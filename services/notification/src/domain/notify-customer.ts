import type { NotificationKind } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import type { Mailer } from './mailer';
import { composeMessage } from './messages';
import { notificationIdOf } from './notification-id';
import type { NotificationStore } from './notification-store';

/** What the customer is told: how their order ended, and what they need to know about it. */
export interface Notice {
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
 * retried. Once the SMTP server has accepted it, that is recorded at once, in a transaction of its
 * own: if this transaction then does not commit (the process dies, the COMMIT fails), the message
 * comes again and the mail is not sent twice (decision 0032). A mail is sent again only when its
 * acceptance was not recorded: the process died between the two (one per transaction in flight
 * at most), the record could not be written and neither could this transaction, or the SMTP
 * server failed after taking it. Never is one lost. The id comes from (order, kind), so every
 * attempt sends the same Message-ID.
 */
export async function notifyCustomer(uow: UnitOfWork, notifications: NotificationStore, mailer: Mailer, notice: Notice): Promise<void> {
  const id = notificationIdOf(notice.orderId, notice.kind);
  const message = composeMessage(notice.kind, notice.orderId, notice);
  const { fresh, mailAccepted } = await notifications.recordNotification(uow.db, {
    id,
    orderId: notice.orderId,
    kind: notice.kind,
    channel: mailer.channel,
    recipient: notice.customer.email,
    subject: message.subject,
    body: message.text,
  });
  if (!fresh) return;
  if (!mailAccepted) {
    await mailer.send({ id, to: notice.customer.email, subject: message.subject, text: message.text });
    await notifications.recordMailAccepted(id);
  }
  uow.publish('NotificationSent', notice.orderId, { notificationId: id, kind: notice.kind, channel: mailer.channel });
}
