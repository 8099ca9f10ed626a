import type { Handler } from '@troupe/messaging';
import type { InventoryFaults } from '../faults';
import { reserveStock } from '../domain/reserve-stock';

export const onPaymentCompleted =
  (faults: InventoryFaults): Handler<'PaymentCompleted'> =>
  async (event, ctx) => {
    ctx.log.info({ lines: event.data.items.length }, 'reserving stock');
    await faults.delay('inventorySlownessMs');
    await reserveStock(ctx, event);
  };
