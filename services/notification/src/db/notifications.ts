import type { NotificationChannel, NotificationKind } from '@troupe/contracts';
import { olderThanPruning, type PruneTask } from '@troupe/service';
import type { Pool, PoolClient } from 'pg';
import type { Logger } from 'pino';
import type { NotificationRecord, NotificationStore, Recorded } from '../domain/notification-store';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * The notification inserted unless its id is there already, and whether its mail was accepted.
 * Two statements sent together (one round trip on the pipelined connection): the lookup takes its
 * snapshot after the insert has ended, so it sees a record that a transaction the insert waited
 * for (the same notification, on another replica) committed meanwhile.
 */
export async function recordNotification(db: Queryable, n: Omit<NotificationRecord, 'sentAt'>): Promise<Recorded> {
  const [inserted, accepted] = await Promise.all([
    db.query({
      name: 'notification-insert',
      text: `INSERT INTO notifications (id, order_id, kind, channel, recipient, subject, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING`,
      values: [n.id, n.orderId, n.kind, n.channel, n.recipient, n.subject, n.body],
    }),
    db.query({ name: 'notification-mail-accepted', text: 'SELECT 1 FROM mails_accepted WHERE notification_id = $1', values: [n.id] }),
  ]);
  return { fresh: inserted.rowCount === 1, mailAccepted: accepted.rowCount === 1 };
}

/** A statement of its own: committed (synchronously) before it returns. */
export async function recordMailAccepted(pool: Pick<Pool, 'query'>, notificationId: string): Promise<void> {
  await pool.query({
    name: 'notification-record-mail-accepted',
    text: 'INSERT INTO mails_accepted (notification_id) VALUES ($1) ON CONFLICT DO NOTHING',
    values: [notificationId],
  });
}

/**
 * The domain's `NotificationStore`, in Postgres. Each record of an accepted mail takes a
 * connection of `records` (the service's pool) beside the one its handler's transaction holds:
 * hence the pool must be larger than the transactions in flight (see `config.ts`).
 */
export const notificationStore = (records: Pick<Pool, 'query'>, logger: Logger): NotificationStore => ({
  recordNotification,
  recordMailAccepted: (notificationId) =>
    recordMailAccepted(records, notificationId).catch((error: unknown) =>
      logger.warn({ err: error instanceof Error ? error.message : String(error), notificationId }, 'could not record an accepted mail; its transaction stands for it'),
    ),
});

/**
 * Accepted mails are looked up only when a message comes again: kept as long as the inbox's rows,
 * past which a copy of the event could no longer be told from a new one anyway.
 */
export const mailsAcceptedPruning = (retentionSeconds: number): PruneTask => olderThanPruning('mails_accepted', 'accepted_at', retentionSeconds);

export async function notificationsFor(db: Queryable, orderId: string): Promise<NotificationRecord[]> {
  const { rows } = await db.query<{
    id: string; order_id: string; kind: NotificationKind; channel: NotificationChannel; recipient: string; subject: string; body: string; sent_at: Date;
  }>('SELECT id, order_id, kind, channel, recipient, subject, body, sent_at FROM notifications WHERE order_id = $1 ORDER BY sent_at, id', [orderId]);
  return rows.map((r) => ({
    id: r.id, orderId: r.order_id, kind: r.kind, channel: r.channel, recipient: r.recipient, subject: r.subject, body: r.body,
    sentAt: r.sent_at.toISOString(),
  }));
}
