import { randomUUID } from 'node:crypto';
import type { StockLevel, TypedEvent } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import type { Line, StockStore } from './stock-store';

/**
 * Reserves every line of a paid order, or none: InventoryReserved if all the stock is there,
 * InventoryRejected (which triggers the refund) if any line is short. Atomic under concurrency:
 * the stock rows are locked before they are checked.
 */
export async function reserveStock(uow: UnitOfWork, store: StockStore, payment: TypedEvent<'PaymentCompleted'>): Promise<void> {
  const lines = mergeLines(payment.data.items);
  const { alreadyReserved, stock } = await store.lockStockFor(uow.db, payment.orderId, lines.map((l) => l.sku));
  // Already reserved for this order (the same payment re-sent as another event): nothing to do.
  // Two such copies racing on two replicas can both see "not yet"; the second then fails on the
  // unique order_id of reservations, is retried, and finds the first one's reservation.
  if (alreadyReserved) return;
  const short = findShortages(lines, stock);
  const { customer } = payment.data;
  if (short.length > 0) {
    uow.publish('InventoryRejected', payment.orderId, { customer, reason: 'not enough stock', unavailable: short });
    return;
  }
  const reservationId = randomUUID();
  await store.reserve(uow.db, reservationId, payment.orderId, lines);
  uow.publish('InventoryReserved', payment.orderId, { reservationId, customer, items: lines });
}

/** The same SKU on two lines is one reservation of the sum. */
export function mergeLines(items: readonly Line[]): Line[] {
  const totals = new Map<string, number>();
  for (const { sku, quantity } of items) totals.set(sku, (totals.get(sku) ?? 0) + quantity);
  return [...totals].map(([sku, quantity]) => ({ sku, quantity })).sort((a, b) => (a.sku < b.sku ? -1 : 1));
}

/** Lines asking for more than is available (an unknown SKU has none). */
export function findShortages(lines: readonly Line[], stock: ReadonlyMap<string, StockLevel>) {
  return lines
    .map((line) => ({ sku: line.sku, requested: line.quantity, available: stock.get(line.sku)?.available ?? 0 }))
    .filter((line) => line.requested > line.available);
}
