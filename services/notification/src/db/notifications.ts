import type { NotificationChannel, NotificationKind } from '@troupe/contracts';
import type { PruneTask } from '@troupe/service';
import type { Pool, PoolClient } from 'pg';
import type { NotificationRecord, NotificationStore, Recorded } from '../domain/notification-store';

type Queryable = Pick<PoolClient, 'query'>;

/** The notification inserted unless its id is there already, and whether its mail was accepted: one round trip. */
export async function recordNotification(db: Queryable, n: Omit<NotificationRecord, 'sentAt'>): Promise<Recorded> {
  const { rows } = await db.query<{ fresh: boolean; mail_accepted: boolean }>({
    name: 'notification-record',
    text: `WITH inserted AS (
       INSERT INTO notifications (id, order_id, kind, channel, recipient, subject, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id)
     SELECT EXISTS (SELECT 1 FROM inserted) AS fresh,
            EXISTS (SELECT 1 FROM mails_accepted WHERE notification_id = $1) AS mail_accepted`,
    values: [n.id, n.orderId, n.kind, n.channel, n.recipient, n.subject, n.body],
  });
  return { fresh: rows[0]!.fresh, mailAccepted: rows[0]!.mail_accepted };
}

/** A statement of its own on the pool: committed (synchronously) before it returns. */
export async function recordMailAccepted(pool: Pick<Pool, 'query'>, notificationId: string): Promise<void> {
  await pool.query({
    name: 'notification-mail-accepted',
    text: 'INSERT INTO mails_accepted (notification_id) VALUES ($1) ON CONFLICT DO NOTHING',
    values: [notificationId],
  });
}

/** The domain's `NotificationStore`, in Postgres. */
export const notificationStore = (pool: Pick<Pool, 'query'>): NotificationStore => ({
  recordNotification,
  recordMailAccepted: (notificationId) => recordMailAccepted(pool, notificationId),
});

/**
 * Accepted mails are looked up only when a message comes again: kept as long as the inbox's rows,
 * past which a copy of the event could no longer be told from a new one anyway.
 */
export const mailsAcceptedPruning = (retentionSeconds: number): PruneTask => ({
  table: 'mails_accepted',
  select: `SELECT ctid FROM mails_accepted WHERE accepted_at < now() - make_interval(secs => $2)
            ORDER BY accepted_at LIMIT $1 FOR UPDATE SKIP LOCKED`,
  values: [retentionSeconds],
});

export async function notificationsFor(db: Queryable, orderId: string): Promise<NotificationRecord[]> {
  const { rows } = await db.query<{
    id: string; order_id: string; kind: NotificationKind; channel: NotificationChannel; recipient: string; subject: string; body: string; sent_at: Date;
  }>('SELECT id, order_id, kind, channel, recipient, subject, body, sent_at FROM notifications WHERE order_id = $1 ORDER BY sent_at, id', [orderId]);
  return rows.map((r) => ({
    id: r.id, orderId: r.order_id, kind: r.kind, channel: r.channel, recipient: r.recipient, subject: r.subject, body: r.body,
    sentAt: r.sent_at.toISOString(),
  }));
}
