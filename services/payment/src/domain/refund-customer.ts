import type { TypedEvent } from '@troupe/contracts';
import { PermanentError, type UnitOfWork } from '@troupe/messaging/domain';
import type { PaymentGateway } from './gateway';
import type { PaymentStore } from './payment-store';

/** Compensation: the stock was not there, so the captured payment is refunded. */
export async function refundCustomer(uow: UnitOfWork, payments: PaymentStore, gateway: PaymentGateway, rejection: TypedEvent<'InventoryRejected'>): Promise<void> {
  const payment = await payments.lockPayment(uow.db, rejection.orderId);
  // Inventory only rejects after PaymentCompleted, which we publish after committing the payment.
  if (!payment) throw new PermanentError(`no payment for order ${rejection.orderId}`);
  if (payment.status !== 'CAPTURED') return; // already refunded (or never captured): nothing to give back
  const amount = { amountCents: payment.amountCents, currency: payment.currency };
  await gateway.refund({ orderId: payment.orderId, ...amount });
  await payments.markRefunded(uow.db, payment.id, rejection.data.reason);
  uow.publish('PaymentRefunded', rejection.orderId, {
    paymentId: payment.id,
    amount,
    customer: rejection.data.customer,
    reason: rejection.data.reason,
  });
}
