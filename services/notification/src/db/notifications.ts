import type { NotificationChannel, NotificationKind } from '@troupe/contracts';
import type { PoolClient } from 'pg';
import type { NotificationRecord, NotificationStore } from '../domain/notification-store';

type Queryable = Pick<PoolClient, 'query'>;

/** False when this order already had a notification of this kind (its id, derived from both, included). */
export async function insertNotification(db: Queryable, n: Omit<NotificationRecord, 'sentAt'>): Promise<boolean> {
  const result = await db.query({
    name: 'notification-insert',
    text: `INSERT INTO notifications (id, order_id, kind, channel, recipient, subject, body)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
    values: [n.id, n.orderId, n.kind, n.channel, n.recipient, n.subject, n.body],
  });
  return result.rowCount === 1;
}

/** The domain's `NotificationStore`, in Postgres. */
export const notificationStore: NotificationStore = { insertNotification };

export async function notificationsFor(db: Queryable, orderId: string): Promise<NotificationRecord[]> {
  const { rows } = await db.query<{
    id: string; order_id: string; kind: NotificationKind; channel: NotificationChannel; recipient: string; subject: string; body: string; sent_at: Date;
  }>('SELECT id, order_id, kind, channel, recipient, subject, body, sent_at FROM notifications WHERE order_id = $1 ORDER BY sent_at, id', [orderId]);
  return rows.map((r) => ({
    id: r.id, orderId: r.order_id, kind: r.kind, channel: r.channel, recipient: r.recipient, subject: r.subject, body: r.body,
    sentAt: r.sent_at.toISOString(),
  }));
}
