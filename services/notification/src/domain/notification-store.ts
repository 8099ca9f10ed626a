import type { Notification } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';

/** The unit of work's open transaction: every call below runs inside it. */
type Transaction = UnitOfWork['db'];

/** A notification as stored: GET /notifications' shape, the address and the text always there. */
export type NotificationRecord = Required<Notification>;

/** The notifications sent, as the notification domain needs them; `db/notifications.ts` keeps them in Postgres. */
export interface NotificationStore {
  /** False when this order already had a notification of this kind (its id, derived from both, included). */
  insertNotification(tx: Transaction, notification: Omit<NotificationRecord, 'sentAt'>): Promise<boolean>;
}
