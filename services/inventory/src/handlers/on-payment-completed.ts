import type { Handler } from '@troupe/messaging';
import { reserveStock } from '../domain/reserve-stock';

export const onPaymentCompleted: Handler<'PaymentCompleted'> = async (event, ctx) => {
  ctx.log.info({ lines: event.data.items.length }, 'reserving stock');
  await reserveStock(ctx, event);
};
