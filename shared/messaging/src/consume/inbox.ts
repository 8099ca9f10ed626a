import type { PoolClient } from 'pg';

/** One event as the inbox knows it: which consumer (queue) handled which event. */
export interface InboxEntry {
  queue: string;
  eventId: string;
}

/**
 * Records the entries in the inbox (`troupe_inbox`) in one statement; for each, whether it is new
 * (false: this consumer has processed that event before, or it appears earlier in the same list).
 */
export async function claimInbox(db: PoolClient, entries: readonly InboxEntry[]): Promise<boolean[]> {
  const { rows } = await db.query<{ consumer: string; event_id: string }>({
    name: 'troupe-inbox-claim',
    text: `INSERT INTO troupe_inbox (consumer, event_id)
     SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING
     RETURNING consumer, event_id`,
    values: [entries.map((e) => e.queue), entries.map((e) => e.eventId)],
  });
  const inserted = new Set(rows.map((r) => `${r.consumer} ${r.event_id}`));
  return entries.map((e) => inserted.delete(`${e.queue} ${e.eventId.toLowerCase()}`));
}

/** Takes entries back out of the inbox (their handlers failed: they will be tried again). */
export async function releaseInbox(db: PoolClient, entries: readonly InboxEntry[]): Promise<void> {
  if (entries.length === 0) return;
  await db.query({
    name: 'troupe-inbox-release',
    text: 'DELETE FROM troupe_inbox WHERE (consumer, event_id) IN (SELECT * FROM unnest($1::text[], $2::uuid[]))',
    values: [entries.map((e) => e.queue), entries.map((e) => e.eventId)],
  });
}
