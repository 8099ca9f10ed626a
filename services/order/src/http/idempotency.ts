import { createHash } from 'node:crypto';
import type { PoolClient } from 'pg';
import { HttpError } from '@troupe/platform';
import type { PruneTask } from '@troupe/service';

export interface StoredResponse {
  statusCode: number;
  body: unknown;
}

/** A response, and whether it is the stored one of an earlier request with the same key. */
export interface Answer extends StoredResponse {
  replayed: boolean;
}

/**
 * Runs `respond` once per key, inside the caller's transaction `db`: the first request with `key`
 * gets its response stored with its effects; the same key and body again replays it (nothing is
 * run); the same key with another body is 422. Without a key, `respond` simply runs.
 */
export async function once(
  db: PoolClient,
  key: string | undefined,
  request: unknown,
  ttlSeconds: number,
  respond: () => Promise<StoredResponse>,
): Promise<Answer> {
  if (key === undefined) return { ...(await respond()), replayed: false };
  const claim = await claimKey(db, key, fingerprint(request));
  if (!claim.claimed) return { ...claim.stored, replayed: true };
  const response = await respond();
  await storeResponse(db, key, response, ttlSeconds);
  return { ...response, replayed: false };
}

/** A stable fingerprint of the request body: same JSON, whatever the key order or spacing. */
function fingerprint(body: unknown): string {
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * Claims `key` inside the caller's transaction, or returns the response stored under it.
 *
 * The claim is an INSERT of the key's row: a concurrent request with the same key blocks on that
 * row until the first transaction ends, then finds the stored response and replays it — two
 * requests with one key can never both create an order. An expired key is forgotten first.
 */
async function claimKey(
  db: PoolClient,
  key: string,
  print: string,
): Promise<{ claimed: true } | { claimed: false; stored: StoredResponse }> {
  await db.query('DELETE FROM idempotency_keys WHERE key = $1 AND expires_at <= now()', [key]);
  const inserted = await db.query(
    `INSERT INTO idempotency_keys (key, fingerprint, status_code, response, expires_at)
     VALUES ($1, $2, 0, 'null', now()) ON CONFLICT (key) DO NOTHING`,
    [key, print],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const { rows } = await db.query<{ fingerprint: string; status_code: number; response: unknown }>(
    'SELECT fingerprint, status_code, response FROM idempotency_keys WHERE key = $1',
    [key],
  );
  const row = rows[0];
  // Deleted between our insert and select (it expired just now): let the client try again.
  if (!row) throw new HttpError(409, 'a request with this Idempotency-Key is being processed; retry');
  if (row.fingerprint !== print) {
    throw new HttpError(422, 'this Idempotency-Key was already used with a different request body');
  }
  return { claimed: false, stored: { statusCode: row.status_code, body: row.response } };
}

async function storeResponse(db: PoolClient, key: string, response: StoredResponse, ttlSeconds: number): Promise<void> {
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
