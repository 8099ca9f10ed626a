import type { StockLevel } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';

/** The unit of work's open transaction: every call below runs inside it. */
type Transaction = UnitOfWork['db'];

export interface Line {
  sku: string;
  quantity: number;
}

/** The stock as the inventory domain needs it; `db/stock.ts` keeps it in Postgres. */
export interface StockStore {
  /**
   * Locks the stock of `skus` for the rest of the transaction, and says whether `orderId` already
   * has a reservation. Two reservations over the same SKUs must queue up, never deadlock.
   */
  lockStockFor(tx: Transaction, orderId: string, skus: string[]): Promise<{ alreadyReserved: boolean; stock: Map<string, StockLevel> }>;
  /** Moves each line's quantity from available to reserved and records the reservation `id`. */
  reserve(tx: Transaction, id: string, orderId: string, lines: Line[]): Promise<void>;
}
