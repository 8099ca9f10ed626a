import type { DeadLetterGroup } from '@troupe/contracts';
import type { Pool } from 'pg';
import { failureOf, fingerprint } from './fingerprint';
import { asMessage, COLUMNS, describeDeadLetter, type Row } from './letter';

/** Rows without a fingerprint given one per statement. */
const BACKFILL_BATCH = 500;

/**
 * Gives a fingerprint to the rows kept before there were fingerprints (the keeper writes one with
 * every row since), so that every dead letter belongs to a group. Once they have one it is a
 * single indexed look-up that finds nothing. Two callers at once write the same values.
 */
export async function fingerprintTheRest(pool: Pool, service: string): Promise<void> {
  for (;;) {
    const { rows } = await pool.query<Row>(`SELECT ${COLUMNS} FROM troupe_dead_letters WHERE fingerprint IS NULL LIMIT $1`, [BACKFILL_BATCH]);
    if (rows.length === 0) return;
    await pool.query(
      `UPDATE troupe_dead_letters t SET fingerprint = f.fingerprint
         FROM unnest($1::text[], $2::int[], $3::text[]) AS f(id, replay_count, fingerprint)
        WHERE t.id = f.id AND t.replay_count = f.replay_count AND t.fingerprint IS NULL`,
      [rows.map((r) => r.id), rows.map((r) => r.replay_count), rows.map((r) => fingerprint(failureOf(service, describeDeadLetter(asMessage(r)))))],
    );
    if (rows.length < BACKFILL_BATCH) return;
  }
}

interface GroupRow extends Row {
  fingerprint: string;
  n: string;
  first_seen: Date;
  last_seen: Date;
  top_replay_count: number;
}

/**
 * The failure groups, the most recently seen first: each one's count, first and last seen, its
 * highest replay count, and its newest letter as the sample. What the group is (type, class,
 * message) is read again from the sample: every letter of a group has the same.
 */
export async function listGroups(pool: Pool, service: string, limit: number): Promise<DeadLetterGroup[]> {
  const { rows } = await pool.query<GroupRow>(
    `WITH g AS (
       SELECT fingerprint, count(*) AS n, min(dead_lettered_at) AS first_seen, max(dead_lettered_at) AS last_seen, max(replay_count) AS top_replay_count
         FROM troupe_dead_letters GROUP BY fingerprint ORDER BY last_seen DESC, fingerprint LIMIT $1
     )
     SELECT g.*, s.* FROM g CROSS JOIN LATERAL (
       SELECT ${COLUMNS} FROM troupe_dead_letters d WHERE d.fingerprint = g.fingerprint ORDER BY dead_lettered_at DESC, id DESC LIMIT 1
     ) s
     ORDER BY g.last_seen DESC, g.fingerprint`,
    [limit],
  );
  return rows.map((row) => {
    const sample = describeDeadLetter(asMessage(row));
    const { type, errorClass, message } = failureOf(service, sample);
    return {
      id: row.fingerprint,
      service,
      type,
      errorClass,
      message,
      count: Number(row.n),
      firstSeenAt: row.first_seen.toISOString(),
      lastSeenAt: row.last_seen.toISOString(),
      replayCount: row.top_replay_count,
      sample,
    };
  });
}
