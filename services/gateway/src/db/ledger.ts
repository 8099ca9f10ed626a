import type { GatewayEntry } from '@troupe/contracts';
import type { Pool, PoolClient } from 'pg';
import type { LedgerTransaction, StoredEntry, UnderLocks } from '../domain/ledger';
import { withTransaction } from '@troupe/service';

type Queryable = Pick<PoolClient, 'query'>;

interface Row {
  id: string;
  kind: StoredEntry['kind'];
  idempotency_key: string;
  order_id: string;
  amount_cents: number;
  currency: string;
  outcome: StoredEntry['outcome'];
  decline_reason: string | null;
  request_hash: string;
  created_at: Date;
}

const COLUMNS = 'id, kind, idempotency_key, order_id, amount_cents, currency, outcome, decline_reason, request_hash, created_at';

const toEntry = (row: Row): StoredEntry => ({
  id: row.id,
  kind: row.kind,
  idempotencyKey: row.idempotency_key,
  orderId: row.order_id,
  amountCents: row.amount_cents,
  currency: row.currency,
  outcome: row.outcome,
  declineReason: row.decline_reason,
  requestHash: row.request_hash,
  createdAt: row.created_at.toISOString(),
});

/**
 * One transaction holding a transaction-scoped advisory lock per name (taken in sorted order, so
 * two callers never wait for each other crosswise); released at COMMIT or ROLLBACK.
 */
export const underLocks =
  (pool: Pool): UnderLocks =>
  (locks, work) =>
    // @troupe/service's transaction: a lost connection destroys its client, a COMMIT answered with a
    // rollback is a failure.
    withTransaction(pool, async (client) => {
      for (const name of [...locks].sort()) await client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [name]);
      return work(ledgerTransaction(client));
    });

function ledgerTransaction(db: Queryable): LedgerTransaction {
  return {
    async find(idempotencyKey) {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ledger_entries WHERE idempotency_key = $1`, [idempotencyKey]);
      return rows[0] && toEntry(rows[0]);
    },
    async insert(entry) {
      const { rows } = await db.query<Row>(
        `INSERT INTO ledger_entries (idempotency_key, id, kind, order_id, amount_cents, currency, outcome, decline_reason, request_hash)
         VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, $7, $8) RETURNING ${COLUMNS}`,
        [entry.idempotencyKey, entry.kind, entry.orderId, entry.amountCents, entry.currency, entry.outcome, entry.declineReason, entry.requestHash],
      );
      return toEntry(rows[0]!);
    },
    async transientFailures(idempotencyKey) {
      const { rows } = await db.query<{ failures: number }>('SELECT failures FROM transient_failures WHERE idempotency_key = $1', [idempotencyKey]);
      return rows[0]?.failures ?? 0;
    },
    async countTransientFailure(idempotencyKey) {
      await db.query(
        `INSERT INTO transient_failures (idempotency_key, failures) VALUES ($1, 1)
         ON CONFLICT (idempotency_key) DO UPDATE SET failures = transient_failures.failures + 1, updated_at = now()`,
        [idempotencyKey],
      );
    },
    async approvedCharge(orderId) {
      const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ledger_entries WHERE order_id = $1 AND kind = 'charge' AND outcome = 'approved' ORDER BY created_at LIMIT 1`, [orderId]);
      return rows[0] && toEntry(rows[0]);
    },
    async refundedCents(orderId) {
      const { rows } = await db.query<{ total: string }>(`SELECT coalesce(sum(amount_cents), 0) AS total FROM ledger_entries WHERE order_id = $1 AND kind = 'refund'`, [orderId]);
      return Number(rows[0]?.total ?? 0);
    },
  };
}

/** Every charge and refund for the order, oldest first. */
export async function ledgerOf(db: Queryable, orderId: string): Promise<GatewayEntry[]> {
  const { rows } = await db.query<Row>(`SELECT ${COLUMNS} FROM ledger_entries WHERE order_id = $1 ORDER BY created_at, kind`, [orderId]);
  return rows.map((row) => {
    const { requestHash: _hash, ...entry } = toEntry(row);
    return entry;
  });
}
