import { randomUUID } from 'node:crypto';
import type { TypedEvent } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import type { PaymentGateway } from './gateway';
import type { PaymentStore } from './payment-store';

/** Charges the order's total: PaymentCompleted if approved, PaymentFailed (final) if declined. */
export async function chargeCustomer(uow: UnitOfWork, payments: PaymentStore, gateway: PaymentGateway, order: TypedEvent<'OrderPlaced'>): Promise<void> {
  const { customer, items, total, paymentMethod } = order.data;
  // The inbox stops a redelivered event; this stops the same order arriving as another event
  // (re-published by hand, say). Neither helps when the gateway charged and we crashed before
  // COMMIT: the gateway's idempotency key, the order id, does (adapters/http-gateway.ts).
  if (await payments.findPayment(uow.db, order.orderId)) return;
  const result = await gateway.charge({ orderId: order.orderId, token: paymentMethod.token, ...total });
  const id = randomUUID();
  if (result.approved) {
    await payments.insertPayment(uow.db, { id, orderId: order.orderId, status: 'CAPTURED', ...total });
    uow.publish('PaymentCompleted', order.orderId, { paymentId: id, amount: total, customer, items });
  } else {
    await payments.insertPayment(uow.db, { id, orderId: order.orderId, status: 'DECLINED', ...total, declineReason: result.reason });
    uow.publish('PaymentFailed', order.orderId, { amount: total, customer, reason: result.reason });
  }
}
