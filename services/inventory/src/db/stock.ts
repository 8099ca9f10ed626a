import type { StockLevel } from '@troupe/contracts';
import type { PoolClient } from 'pg';
import type { Line, StockStore } from '../domain/stock-store';

type Queryable = Pick<PoolClient, 'query'>;

/**
 * Locks the stock rows of `skus` for the rest of the transaction, always in SKU order, so two
 * reservations over the same SKUs queue up instead of deadlocking; and says, in the same round
 * trip, whether `orderId` already has a reservation (an order with no known SKU cannot have one).
 */
export async function lockStockFor(
  db: Queryable,
  orderId: string,
  skus: string[],
): Promise<{ alreadyReserved: boolean; stock: Map<string, StockLevel> }> {
  const { rows } = await db.query<StockLevel & { already_reserved: boolean }>({
    name: 'stock-lock-for-order',
    text: `SELECT s.sku, s.available, s.reserved,
                  EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = $2) AS already_reserved
             FROM stock s WHERE s.sku = ANY($1::text[]) ORDER BY s.sku FOR UPDATE OF s`,
    values: [skus, orderId],
  });
  return {
    alreadyReserved: rows[0]?.already_reserved ?? false,
    stock: new Map(rows.map(({ sku, available, reserved }) => [sku, { sku, available, reserved }])),
  };
}

/** Moves each line's quantity from available to reserved and records the reservation: one statement. */
export async function reserve(db: Queryable, id: string, orderId: string, lines: Line[]): Promise<void> {
  await db.query({
    name: 'stock-reserve',
    text: `WITH reservation AS (INSERT INTO reservations (id, order_id, items) VALUES ($1, $2, $3))
           UPDATE stock s SET available = s.available - r.quantity, reserved = s.reserved + r.quantity, updated_at = now()
             FROM unnest($4::text[], $5::int[]) AS r(sku, quantity)
            WHERE s.sku = r.sku`,
    values: [id, orderId, JSON.stringify(lines), lines.map((l) => l.sku), lines.map((l) => l.quantity)],
  });
}

/** The domain's `StockStore`, in Postgres. */
export const stockStore: StockStore = { lockStockFor, reserve };

export async function getStock(db: Queryable, sku: string): Promise<StockLevel | undefined> {
  const { rows } = await db.query<{ sku: string; available: number; reserved: number }>('SELECT sku, available, reserved FROM stock WHERE sku = $1', [sku]);
  const row = rows[0];
  return row && { sku: row.sku, available: row.available, reserved: row.reserved };
}
