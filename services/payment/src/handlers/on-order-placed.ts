import type { Handler } from '@troupe/messaging';
import { chargeCustomer } from '../domain/charge-customer';
import type { PaymentGateway } from '../domain/gateway';
import type { PaymentStore } from '../domain/payment-store';

export const onOrderPlaced =
  (payments: PaymentStore, gateway: PaymentGateway): Handler<'OrderPlaced'> =>
  async (event, ctx) => {
    ctx.log.info({ amountCents: event.data.total.amountCents }, 'charging customer');
    await chargeCustomer(ctx, payments, gateway, event);
  };
