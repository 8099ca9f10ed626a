import type { PruneTask } from '@troupe/service';
import type { PoolClient } from 'pg';

/** A response as stored under its Idempotency-Key, to be replayed. */
export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/**
 * What claiming a key found: the key is ours now; another request holds it (with that request's
 * fingerprint and response); or it expired and was deleted between our two statements.
 */
export type Claim = { outcome: 'claimed' } | { outcome: 'taken'; fingerprint: string; stored: StoredResponse } | { outcome: 'vanished' };

/**
 * Claims `key` inside the caller's transaction, or says who holds it.
 *
 * The claim is an INSERT of the key's row: a concurrent request with the same key blocks on that
 * row until the first transaction ends, then finds the stored response and replays it — two
 * requests with one key can never both create an order. An expired key is forgotten first.
 */
export async function claimKey(db: PoolClient, key: string, fingerprint: string): Promise<Claim> {
  await db.query('DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= now()', [key]);
  const inserted = await db.query(
    `INSERT INTO idempotency_keys (key, fingerprint, status_code, response, expires_at)
     VALUES ($1, $2, 0, 'null', now()) ON CONFLICT (key) DO NOTHING`,
    [key, fingerprint],
  );
  if (inserted.rowCount === 1) return { outcome: 'claimed' };
  const { rows } = await db.query<{ fingerprint: string; status_code: number; response: unknown }>(
    'SELECT fingerprint, status_code, response FROM idempotency_keys WHERE key = $1',
    [key],
  );
  const row = rows[0];
  if (!row) return { outcome: 'vanished' };
  return { outcome: 'taken', fingerprint: row.fingerprint, stored: { statusCode: row.status_code, body: row.response } };
}

/** Stores the response of the request that claimed `key`, kept for `ttlSeconds`. */
export async function storeResponse(db: PoolClient, key: string, response: StoredResponse, ttlSeconds: number): Promise<void> {
  await db.query(
    `UPDATE idempotency_keys SET status_code = $2, response = $3, expires_at = now() + make_interval(secs => $4) WHERE key = $1`,
    [key, response.statusCode, JSON.stringify(response.body), ttlSeconds],
  );
}

/** Keys past their expiry, pruned on a schedule (a key is also forgotten when it is reused). */
export const expiredKeys: PruneTask = {
  table: 'idempotency_keys',
  select: 'SELECT ctid FROM idempotency_keys WHERE expires_at <= now() ORDER BY expires_at LIMIT $1 FOR UPDATE SKIP LOCKED',
};
