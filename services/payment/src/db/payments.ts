import type { PoolClient } from 'pg';
import type { Payment, PaymentStore } from '../domain/payment-store';

type Queryable = Pick<PoolClient, 'query'>;

export async function insertPayment(
  db: Queryable,
  payment: Payment & { declineReason?: string },
): Promise<void> {
  await db.query({
    name: 'payment-insert',
    text: `INSERT INTO payments (id, order_id, status, amount_cents, currency, decline_reason) VALUES ($1, $2, $3, $4, $5, $6)`,
    values: [payment.id, payment.orderId, payment.status, payment.amountCents, payment.currency, payment.declineReason ?? null],
  });
}

export async function findPayment(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'payment-find',
    text: 'SELECT 1 FROM payments WHERE order_id = $1',
    values: [orderId],
  });
  return rowCount === 1;
}

/** Locks the order's payment for the rest of the transaction. */
export async function lockPayment(db: Queryable, orderId: string): Promise<Payment | undefined> {
  const { rows } = await db.query<{ id: string; order_id: string; status: Payment['status']; amount_cents: number; currency: string }>(
    'SELECT id, order_id, status, amount_cents, currency FROM payments WHERE order_id = $1 FOR UPDATE',
    [orderId],
  );
  const row = rows[0];
  return row && { id: row.id, orderId: row.order_id, status: row.status, amountCents: row.amount_cents, currency: row.currency };
}

export async function markRefunded(db: Queryable, id: string, reason: string): Promise<void> {
  await db.query(`UPDATE payments SET status = 'REFUNDED', refund_reason = $2, refunded_at = now() WHERE id = $1`, [id, reason]);
}

/** The domain's `PaymentStore`, in Postgres. */
export const paymentStore: PaymentStore = { insertPayment, findPayment, lockPayment, markRefunded };
