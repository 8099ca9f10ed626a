import { createHash } from 'node:crypto';
import type { GatewayChargeRequest, GatewayEntry, GatewayRefundRequest } from '@troupe/contracts';
import { decide, failsTransiently } from './tokens';

/** A ledger entry with the hash of the request that made it. */
export interface StoredEntry extends GatewayEntry {
  requestHash: string;
}

/** The ledger as the use cases need it, inside one transaction that holds the key's lock. */
export interface LedgerTransaction {
  find(idempotencyKey: string): Promise<StoredEntry | undefined>;
  insert(entry: Omit<StoredEntry, 'id' | 'createdAt'>): Promise<StoredEntry>;
  transientFailures(idempotencyKey: string): Promise<number>;
  countTransientFailure(idempotencyKey: string): Promise<void>;
  /** The order's approved charge, if any. */
  approvedCharge(orderId: string): Promise<StoredEntry | undefined>;
  refundedCents(orderId: string): Promise<number>;
}

/** Runs `work` in one transaction holding a lock on each of `locks` (idempotency keys, orders). */
export type UnderLocks = <R>(locks: string[], work: (tx: LedgerTransaction) => Promise<R>) => Promise<R>;

/** The ledger's answer to a charge or refund: its entry (`replayed` for a key seen before), or a transient failure. */
export type LedgerAnswer = { kind: 'entry'; entry: GatewayEntry; replayed: boolean } | { kind: 'transient'; message: string };

/** The key was used before for another request: answered 422, charging nothing (as card APIs do). */
export class IdempotencyConflict extends Error {
  override name = 'IdempotencyConflict';
}

/** A refund the gateway cannot make: no approved charge for the order, or more than it left. */
export class RefundRefused extends Error {
  override name = 'RefundRefused';
}

const hashOf = (parts: (string | number)[]) => createHash('sha256').update(parts.join('\u0000')).digest('hex');

/**
 * A charge under the caller's idempotency key: the first request with a key decides (approved,
 * declined, or a transient failure that records nothing), and every later one with the same key
 * and body gets that entry back. The key's lock makes concurrent requests with it wait for each
 * other, so two of them never both charge.
 */
export async function charge(underLocks: UnderLocks, idempotencyKey: string, request: GatewayChargeRequest): Promise<LedgerAnswer> {
  const requestHash = hashOf(['charge', request.orderId, request.amountCents, request.currency, request.token]);
  return underLocks([idempotencyKey], async (tx) => {
    const earlier = await replayOf(tx, idempotencyKey, requestHash);
    if (earlier) return earlier;
    // The failures so far are read only for a token they decide (one statement fewer per charge).
    const decision = decide(request.token, failsTransiently(request.token) ? await tx.transientFailures(idempotencyKey) : 0);
    if (decision.outcome === 'transient') {
      await tx.countTransientFailure(idempotencyKey);
      return { kind: 'transient', message: decision.message };
    }
    const { token: _token, ...charged } = request;
    const entry = await tx.insert({
      kind: 'charge',
      idempotencyKey,
      ...charged,
      outcome: decision.outcome,
      declineReason: decision.outcome === 'declined' ? decision.reason : null,
      requestHash,
    });
    return { kind: 'entry', entry: publicEntry(entry), replayed: false };
  });
}

/** A refund of (part of) the order's approved charge, under a key of its own. */
export async function refund(underLocks: UnderLocks, idempotencyKey: string, request: GatewayRefundRequest): Promise<LedgerAnswer> {
  const requestHash = hashOf(['refund', request.orderId, request.amountCents, request.currency]);
  // The order's lock too: two refunds under different keys must not both pass the amount check.
  return underLocks([idempotencyKey, `order:${request.orderId}`], async (tx) => {
    const earlier = await replayOf(tx, idempotencyKey, requestHash);
    if (earlier) return earlier;
    const charged = await tx.approvedCharge(request.orderId);
    if (!charged) throw new RefundRefused(`no approved charge for order ${request.orderId}`);
    if (charged.currency !== request.currency) throw new RefundRefused(`the charge was in ${charged.currency}, not ${request.currency}`);
    const left = charged.amountCents - (await tx.refundedCents(request.orderId));
    if (request.amountCents > left) throw new RefundRefused(`refund of ${request.amountCents} exceeds the ${left} left of the charge`);
    const entry = await tx.insert({ kind: 'refund', idempotencyKey, ...request, outcome: 'refunded', declineReason: null, requestHash });
    return { kind: 'entry', entry: publicEntry(entry), replayed: false };
  });
}

async function replayOf(tx: LedgerTransaction, idempotencyKey: string, requestHash: string): Promise<LedgerAnswer | undefined> {
  const existing = await tx.find(idempotencyKey);
  if (!existing) return undefined;
  if (existing.requestHash !== requestHash) throw new IdempotencyConflict(`Idempotency-Key ${idempotencyKey} was used for a different request`);
  return { kind: 'entry', entry: publicEntry(existing), replayed: true };
}

const publicEntry = ({ requestHash: _hash, ...entry }: StoredEntry): GatewayEntry => entry;
