import type { OrderStatus, OrderSummary, OrderView } from '@troupe/contracts';
import type { PoolClient } from 'pg';
import type { LineItem, LockedOrder, NewOrder, OrderStore, Product } from '../domain/order-store';

type Queryable = Pick<PoolClient, 'query'>;

export async function findProducts(db: Queryable, skus: string[]): Promise<Map<string, Product>> {
  const { rows } = await db.query<{ sku: string; unit_price_cents: number; currency: string }>({
    name: 'order-find-products',
    text: 'SELECT sku, unit_price_cents, currency FROM products WHERE sku = ANY($1::text[])',
    values: [skus],
  });
  return new Map(rows.map((r) => [r.sku, { sku: r.sku, unitPriceCents: r.unit_price_cents, currency: r.currency }]));
}

export async function insertOrder(db: Queryable, order: NewOrder, placedAt: string): Promise<void> {
  await db.query({
    name: 'order-insert',
    text: `WITH o AS (
       INSERT INTO orders (id, customer_id, email, status, items, total_cents, currency, trace_id, created_at, updated_at)
       VALUES ($1, $2, $3, 'PENDING', $4, $5, $6, $7, $8, $8)
     )
     INSERT INTO order_history (order_id, type, occurred_at) VALUES ($1, 'OrderPlaced', $8)`,
    values: [order.id, order.customerId, order.email, JSON.stringify(order.items), order.totalCents, order.currency, order.traceId ?? null, placedAt],
  });
}

/**
 * Locks the order row for the rest of the transaction, and says whether its history already has
 * the event `eventId`; undefined if there is no such order.
 */
export async function lockOrder(
  db: Queryable,
  id: string,
  eventId: string,
): Promise<LockedOrder | undefined> {
  const { rows } = await db.query<{ status: OrderStatus; created_at: Date; seen: boolean }>({
    name: 'order-lock',
    text: `SELECT status, created_at, EXISTS (SELECT 1 FROM order_history h WHERE h.order_id = $1 AND h.event_id = $2) AS seen
             FROM orders WHERE id = $1 FOR UPDATE OF orders`,
    values: [id, eventId],
  });
  const row = rows[0];
  return row && { status: row.status, createdAt: row.created_at, seen: row.seen };
}

export async function recordEvent(
  db: Queryable,
  id: string,
  event: { type: string; id: string; occurredAt: string },
  status: OrderStatus,
): Promise<void> {
  await db.query({
    name: 'order-record-event',
    text: `WITH h AS (INSERT INTO order_history (order_id, type, event_id, occurred_at) VALUES ($1, $2, $3, $4))
     UPDATE orders SET status = $5, updated_at = now() WHERE id = $1`,
    values: [id, event.type, event.id, event.occurredAt, status],
  });
}

/** The domain's `OrderStore`, in Postgres. */
export const orderStore: OrderStore = { findProducts, insertOrder, lockOrder, recordEvent };

export async function getOrder(db: Queryable, id: string): Promise<OrderView | undefined> {
  const { rows } = await db.query<{
    id: string;
    status: OrderStatus;
    customer_id: string;
    items: LineItem[];
    total_cents: number;
    currency: string;
    trace_id: string | null;
    created_at: Date;
    updated_at: Date;
    history: { type: string; at: string }[];
  }>(
    `SELECT o.id, o.status, o.customer_id, o.items, o.total_cents, o.currency, o.trace_id, o.created_at, o.updated_at,
            COALESCE((SELECT json_agg(json_build_object('type', h.type, 'at', h.occurred_at) ORDER BY h.occurred_at, h.id)
                        FROM order_history h WHERE h.order_id = o.id), '[]') AS history
       FROM orders o WHERE o.id = $1`,
    [id],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    orderId: row.id,
    status: row.status,
    customerId: row.customer_id,
    items: row.items,
    total: { amountCents: row.total_cents, currency: row.currency },
    history: row.history.map((h) => ({ type: h.type, at: new Date(h.at).toISOString() })),
    traceId: row.trace_id,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}

/** The `limit` most recently placed orders, newest first. */
export async function latestOrders(db: Queryable, limit: number): Promise<OrderSummary[]> {
  const { rows } = await db.query<{
    id: string;
    status: OrderStatus;
    items: LineItem[];
    total_cents: number;
    currency: string;
    created_at: Date;
    updated_at: Date;
  }>({
    name: 'order-latest',
    text: 'SELECT id, status, items, total_cents, currency, created_at, updated_at FROM orders ORDER BY created_at DESC, id LIMIT $1',
    values: [limit],
  });
  return rows.map((row) => ({
    orderId: row.id,
    status: row.status,
    items: row.items,
    total: { amountCents: row.total_cents, currency: row.currency },
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  }));
}
