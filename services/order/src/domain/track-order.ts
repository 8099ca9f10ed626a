import type { AnyEvent, OrderStatus } from '@troupe/contracts';
import { PermanentError, type UnitOfWork } from '@troupe/messaging/domain';
import type { OrderStore } from './order-store';
import { nextStatus, statusAfter } from './order-status';

export interface Transition {
  from: OrderStatus;
  to: OrderStatus;
  placedAt: Date;
}

/**
 * Follows one event about an order: adds it to the history and moves the status forward if the
 * event is further along (events may arrive in any order; the status never moves back).
 */
export async function trackOrder(uow: UnitOfWork, orders: OrderStore, event: AnyEvent): Promise<Transition> {
  const order = await orders.lockOrder(uow.db, event.orderId, event.id);
  // Every event we follow is about an order we placed; an unknown one will not appear later.
  if (!order) throw new PermanentError(`no order ${event.orderId}`);
  // A copy arriving after its inbox row was pruned (docs/design.md "Exactly-once effects").
  if (order.seen) return { from: order.status, to: order.status, placedAt: order.createdAt };
  const to = nextStatus(order.status, statusAfter(event.type, event.data as never));
  await orders.recordEvent(uow.db, event.orderId, event, to);
  return { from: order.status, to, placedAt: order.createdAt };
}
