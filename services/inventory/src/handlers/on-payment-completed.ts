import type { Handler } from '@troupe/messaging';
import { reserveStock } from '../domain/reserve-stock';
import type { StockStore } from '../domain/stock-store';
import type { InventoryFaults } from '../faults';

export const onPaymentCompleted =
  (stock: StockStore, faults: InventoryFaults): Handler<'PaymentCompleted'> =>
  async (event, ctx) => {
    ctx.log.info({ lines: event.data.items.length }, 'reserving stock');
    await faults.delay('inventorySlownessMs');
    await reserveStock(ctx, stock, event);
  };
