import type { Notification } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';

/** The unit of work's open transaction: every call below runs inside it. */
type Transaction = UnitOfWork['db'];

/** A notification as stored: GET /notifications' shape, the address and the text always there. */
export type NotificationRecord = Required<Notification>;

/** What recording a notification found. */
export interface Recorded {
  /** False when this order already had a notification of this kind (its id, derived from both, included). */
  fresh: boolean;
  /** The SMTP server has already accepted this notification's mail: sent by an attempt that did not commit. */
  mailAccepted: boolean;
}

/** The notifications sent, as the notification domain needs them; `db/notifications.ts` keeps them in Postgres. */
export interface NotificationStore {
  /** Records the notification in the transaction, unless this order already had one of this kind. */
  recordNotification(tx: Transaction, notification: Omit<NotificationRecord, 'sentAt'>): Promise<Recorded>;
  /**
   * Records that the SMTP server accepted this notification's mail, committed at once, outside the
   * transaction and whatever becomes of it. Never throws: the mail is out, and failing now would
   * send it again; a record that cannot be written is reported, and the transaction's COMMIT
   * (which records the notification) stands for it.
   */
  recordMailAccepted(notificationId: string): Promise<void>;
}
