import { randomUUID } from 'node:crypto';
import type { OrderRequest, OrderView } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import type { LineItem, OrderStore } from './order-store';

/** A request naming something we do not sell: the client's mistake, reported per field. */
export class UnknownSkuError extends Error {
  constructor(readonly field: string, sku: string) {
    super(`unknown SKU ${sku}`);
  }
}

/** Accepts an order: priced from our own list, stored PENDING, OrderPlaced in the outbox. */
export async function placeOrder(uow: UnitOfWork, orders: OrderStore, request: OrderRequest, traceId: string | undefined): Promise<OrderView> {
  const items = await priceItems(uow, orders, request.items);
  const totalCents = items.reduce((sum, item) => sum + item.unitPriceCents * item.quantity, 0);
  const id = randomUUID();
  const placedAt = new Date().toISOString();
  await orders.insertOrder(uow.db, { id, customerId: request.customerId, email: request.email, items, totalCents, currency: 'USD', traceId }, placedAt);
  uow.publish('OrderPlaced', id, {
    customer: { customerId: request.customerId, email: request.email },
    items,
    total: { amountCents: totalCents, currency: 'USD' },
    paymentMethod: request.paymentMethod,
  });
  return {
    orderId: id,
    status: 'PENDING',
    customerId: request.customerId,
    items,
    total: { amountCents: totalCents, currency: 'USD' },
    history: [{ type: 'OrderPlaced', at: placedAt }],
    traceId: traceId ?? null,
    createdAt: placedAt,
    updatedAt: placedAt,
  };
}

async function priceItems(uow: UnitOfWork, orders: OrderStore, requested: OrderRequest['items']): Promise<LineItem[]> {
  const products = await orders.findProducts(uow.db, requested.map((i) => i.sku));
  return requested.map((item, index) => {
    const product = products.get(item.sku);
    if (!product) throw new UnknownSkuError(`items.${index}.sku`, item.sku);
    return { sku: item.sku, quantity: item.quantity, unitPriceCents: product.unitPriceCents };
  });
}
