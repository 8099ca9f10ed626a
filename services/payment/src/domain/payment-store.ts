import type { UnitOfWork } from '@troupe/messaging/domain';

/** The unit of work's open transaction: every call below runs inside it. */
type Transaction = UnitOfWork['db'];

export interface Payment {
  id: string;
  orderId: string;
  status: 'CAPTURED' | 'DECLINED' | 'REFUNDED';
  amountCents: number;
  currency: string;
}

/** The payments as the payment domain needs them; `db/payments.ts` keeps them in Postgres. */
export interface PaymentStore {
  insertPayment(tx: Transaction, payment: Payment & { declineReason?: string }): Promise<void>;
  /** Whether the order already has a payment. */
  findPayment(tx: Transaction, orderId: string): Promise<boolean>;
  /** The order's payment, locked for the rest of the transaction. */
  lockPayment(tx: Transaction, orderId: string): Promise<Payment | undefined>;
  markRefunded(tx: Transaction, id: string, reason: string): Promise<void>;
}
