import type { Handler } from '@troupe/messaging';
import type { PaymentGateway } from '../domain/gateway';
import type { PaymentStore } from '../domain/payment-store';
import { refundCustomer } from '../domain/refund-customer';

export const onInventoryRejected =
  (payments: PaymentStore, gateway: PaymentGateway): Handler<'InventoryRejected'> =>
  async (event, ctx) => {
    ctx.log.info({ reason: event.data.reason }, 'stock rejected; refunding');
    await refundCustomer(ctx, payments, gateway, event);
  };
