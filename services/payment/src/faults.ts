import { Faults } from '@troupe/platform';
import { TransientGatewayError, type PaymentGateway } from './domain/gateway';

/** The payment service's fault switches (off by default; see docs/decisions/0010). */
export const paymentFaults = () =>
  new Faults({
    paymentGatewayFailureRate: { description: 'Share of charges the gateway fails (transiently: the charge is retried)', min: 0, max: 1, defaultValue: 0, unit: 'ratio' },
    paymentGatewayLatencyMs: { description: 'Time the gateway takes to answer each charge', min: 0, max: 10_000, defaultValue: 0, unit: 'ms' },
  });

export type PaymentFaults = ReturnType<typeof paymentFaults>;

/** The gateway as the fault switches make it: slower, and failing as often as asked. */
export function withFaults(gateway: PaymentGateway, faults: PaymentFaults): PaymentGateway {
  return {
    async charge(request) {
      await faults.delay('paymentGatewayLatencyMs');
      if (faults.strikes('paymentGatewayFailureRate')) throw new TransientGatewayError('gateway unavailable (fault switch paymentGatewayFailureRate)');
      return gateway.charge(request);
    },
    refund: (request) => gateway.refund(request),
  };
}
