export type ChargeResult = { approved: true } | { approved: false; reason: string };

/** The gateway timed out or answered 5xx: trying again later may work. */
export class TransientGatewayError extends Error {
  override name = 'TransientGatewayError';
}

/**
 * The card gateway as the payment domain needs it; `adapters/http-gateway.ts` calls the one troupe
 * runs (services/gateway). Both calls are idempotent per order: calling again charges or refunds
 * nothing new.
 */
export interface PaymentGateway {
  charge(request: { orderId: string; token: string; amountCents: number; currency: string }): Promise<ChargeResult>;
  refund(request: { orderId: string; amountCents: number; currency: string }): Promise<void>;
}
