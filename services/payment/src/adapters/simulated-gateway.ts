import type { Pool } from 'pg';
import { countGatewayCall } from '../db/gateway-calls';
import { TransientGatewayError, type ChargeResult, type PaymentGateway } from '../domain/gateway';

/**
 * A stand-in for a card gateway with the tokens of docs/design.md "Deterministic behaviours":
 * `tok_visa` is approved, `tok_declined` declined, `tok_flaky` fails transiently on its first two
 * calls for an order and is approved on the third. Any other token is declined as unknown.
 * Its call counter lives outside the caller's transaction, as a real gateway's would.
 */
export class SimulatedGateway implements PaymentGateway {
  constructor(private readonly pool: Pool) {}

  async charge({ orderId, token }: { orderId: string; token: string }): Promise<ChargeResult> {
    switch (token) {
      case 'tok_visa':
        return { approved: true };
      case 'tok_declined':
        return { approved: false, reason: 'card declined' };
      case 'tok_flaky': {
        const calls = await countGatewayCall(this.pool, orderId);
        if (calls <= 2) throw new TransientGatewayError(`gateway timed out (simulated, call ${calls} of 3)`);
        return { approved: true };
      }
      default:
        return { approved: false, reason: 'unknown payment token' };
    }
  }

  async refund(): Promise<void> {
    // Always succeeds in the simulation.
  }
}
