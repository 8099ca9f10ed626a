import { HttpError } from '@troupe/platform';
import type { PoolClient } from 'pg';
import { claimKey, storeResponse, type StoredResponse } from '../db/idempotency-keys';
import { fingerprint } from '../fingerprint';

export type { StoredResponse } from '../db/idempotency-keys';

/** A response, and whether it is the stored one of an earlier request with the same key. */
export interface Answer extends StoredResponse {
  replayed: boolean;
}

/**
 * The `Idempotency-Key` header's meaning: runs `respond` once per key, inside the caller's
 * transaction `db`. The first request with `key` gets its response stored with its effects; the
 * same key and body again replays it (nothing is run); the same key with another body is 422.
 * Without a key, `respond` simply runs.
 */
export async function once(
  db: PoolClient,
  key: string | undefined,
  request: unknown,
  ttlSeconds: number,
  respond: () => Promise<StoredResponse>,
): Promise<Answer> {
  if (key === undefined) return { ...(await respond()), replayed: false };
  const print = fingerprint(request);
  const claim = await claimKey(db, key, print);
  // Deleted between the claim's insert and select (it expired just now): let the client try again.
  if (claim.outcome === 'vanished') throw new HttpError(409, 'a request with this Idempotency-Key is being processed; retry');
  if (claim.outcome === 'taken') {
    if (claim.fingerprint !== print) throw new HttpError(422, 'this Idempotency-Key was already used with a different request body');
    return { ...claim.stored, replayed: true };
  }
  const response = await respond();
  await storeResponse(db, key, response, ttlSeconds);
  return { ...response, replayed: false };
}
