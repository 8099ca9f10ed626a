import type { PoolClient } from 'pg';

type Queryable = Pick<PoolClient, 'query'>;

export interface StockLevel {
  sku: string;
  available: number;
  reserved: number;
}

/**
 * Locks the stock rows of `skus` for the rest of the transaction, always in SKU order, so two
 * reservations over the same SKUs queue up instead of deadlocking.
 */
export async function lockStock(db: Queryable, skus: string[]): Promise<Map<string, StockLevel>> {
  const { rows } = await db.query<StockLevel>({
    name: 'stock-lock',
    text: 'SELECT sku, available, reserved FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE',
    values: [skus],
  });
  return new Map(rows.map((row) => [row.sku, row]));
}

/** Moves each line's quantity from available to reserved and records the reservation: one statement. */
export async function reserve(db: Queryable, id: string, orderId: string, lines: { sku: string; quantity: number }[]): Promise<void> {
  await db.query({
    name: 'stock-reserve',
    text: `WITH reservation AS (INSERT INTO reservations (id, order_id, items) VALUES ($1, $2, $3))
           UPDATE stock s SET available = s.available - r.quantity, reserved = s.reserved + r.quantity, updated_at = now()
             FROM unnest($4::text[], $5::int[]) AS r(sku, quantity)
            WHERE s.sku = r.sku`,
    values: [id, orderId, JSON.stringify(lines), lines.map((l) => l.sku), lines.map((l) => l.quantity)],
  });
}

export async function hasReservation(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query({
    name: 'reservation-exists',
    text: 'SELECT 1 FROM reservations WHERE order_id = $1',
    values: [orderId],
  });
  return rowCount === 1;
}

export async function getStock(db: Queryable, sku: string): Promise<StockLevel | undefined> {
  const { rows } = await db.query<StockLevel>('SELECT sku, available, reserved FROM stock WHERE sku = $1', [sku]);
  return rows[0];
}
