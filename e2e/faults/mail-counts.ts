import { sql } from '../support/api';
import type { System } from '../support/system';
import type { Placed } from './load';
import type { SmtpSink } from './smtp-sink';

/** Mails counted where they land, per notified order: missing ones, and repeats (a crash between the SMTP server's acceptance and its record). */
export interface MailCounts {
  orders: number;
  /** Orders whose notification reached no mailbox. */
  missing: string[];
  /** Orders whose mail arrived more than once, with how many times: each repeat carries the first one's Message-ID. */
  repeated: { orderId: string; times: number }[];
  /** Mails beyond one per order, in all. */
  extra: number;
}

/**
 * Counts, at the test's own SMTP server, the mails of every order in `placed` (by Message-ID: the
 * notification's id, the same on every send). Call it once every order is notified.
 */
export async function mailCounts(system: System, sink: SmtpSink, placed: readonly Placed[]): Promise<MailCounts> {
  const rows = await sql<{ id: string; order_id: string }>(system, 'notification', "SELECT id, order_id FROM notifications WHERE channel = 'email' AND order_id = ANY($1::uuid[])", [
    placed.map((p) => p.orderId),
  ]);
  const idOf = new Map(rows.map((row) => [row.order_id, row.id]));
  const counts: MailCounts = { orders: placed.length, missing: [], repeated: [], extra: 0 };
  for (const { orderId } of placed) {
    const id = idOf.get(orderId);
    const times = id === undefined ? 0 : (sink.accepted.get(`<${id}@troupe>`) ?? 0);
    if (times === 0) counts.missing.push(orderId);
    if (times > 1) {
      counts.repeated.push({ orderId, times });
      counts.extra += times - 1;
    }
  }
  return counts;
}
