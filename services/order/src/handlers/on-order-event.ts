import type { EventType } from '@troupe/contracts';
import type { Handler } from '@troupe/messaging';
import type { OrderStore } from '../domain/order-store';
import { trackOrder } from '../domain/track-order';
import type { OrderMetrics } from '../metrics';

/**
 * The order service follows every event about its orders the same way: record it, move the
 * status forward. One handler, registered for each event type in handlers/index.ts.
 */
export const onOrderEvent =
  <T extends EventType>(orders: OrderStore, metrics: OrderMetrics): Handler<T> =>
  async (event, ctx) => {
    const transition = await trackOrder(ctx, orders, event as never);
    if (transition.from !== transition.to) ctx.log.info({ from: transition.from, to: transition.to }, 'order status changed');
    ctx.onCommit(() => metrics.transitioned(transition));
  };
