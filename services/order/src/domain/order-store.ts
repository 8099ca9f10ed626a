import type { OrderStatus } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';

/** The unit of work's open transaction: every call below runs inside it. */
type Transaction = UnitOfWork['db'];

export interface Product {
  sku: string;
  unitPriceCents: number;
  currency: string;
}

export interface LineItem {
  sku: string;
  quantity: number;
  unitPriceCents: number;
}

export interface NewOrder {
  id: string;
  customerId: string;
  email: string;
  items: LineItem[];
  totalCents: number;
  currency: string;
  traceId: string | undefined;
}

/** An order as `trackOrder` finds it, locked for the rest of the transaction. */
export interface LockedOrder {
  status: OrderStatus;
  createdAt: Date;
  /** Whether its history already has the event being tracked. */
  seen: boolean;
}

/** The orders as the order domain needs them; `db/orders.ts` keeps them in Postgres. */
export interface OrderStore {
  findProducts(tx: Transaction, skus: string[]): Promise<Map<string, Product>>;
  insertOrder(tx: Transaction, order: NewOrder, placedAt: string): Promise<void>;
  /** Locks the order, and says whether its history has `eventId`; undefined if there is no such order. */
  lockOrder(tx: Transaction, id: string, eventId: string): Promise<LockedOrder | undefined>;
  recordEvent(tx: Transaction, id: string, event: { type: string; id: string; occurredAt: string }, status: OrderStatus): Promise<void>;
}
