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
  const { rows } = await db.query<StockLevel>(
    'SELECT sku, available, reserved FROM stock WHERE sku = ANY($1::text[]) ORDER BY sku FOR UPDATE',
    [skus],
  );
  return new Map(rows.map((row) => [row.sku, row]));
}

export async function moveToReserved(db: Queryable, lines: { sku: string; quantity: number }[]): Promise<void> {
  await db.query(
    `UPDATE stock s SET available = s.available - r.quantity, reserved = s.reserved + r.quantity, updated_at = now()
       FROM unnest($1::text[], $2::int[]) AS r(sku, quantity)
      WHERE s.sku = r.sku`,
    [lines.map((l) => l.sku), lines.map((l) => l.quantity)],
  );
}

export async function insertReservation(db: Queryable, id: string, orderId: string, lines: { sku: string; quantity: number }[]): Promise<void> {
  await db.query('INSERT INTO reservations (id, order_id, items) VALUES ($1, $2, $3)', [id, orderId, JSON.stringify(lines)]);
}

export async function hasReservation(db: Queryable, orderId: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM reservations WHERE order_id = $1', [orderId]);
  return rowCount === 1;
}

export async function getStock(db: Queryable, sku: string): Promise<StockLevel | undefined> {
  const { rows } = await db.query<StockLevel>('SELECT sku, available, reserved FROM stock WHERE sku = $1', [sku]);
  return rows[0];
}
