import type { Pool } from 'pg';

export type ChargeResult = { approved: true } | { approved: false; reason: string };

/** The gateway timed out or answered 5xx: trying again later may work. */
export class TransientGatewayError extends Error {
  override name = 'TransientGatewayError';
}

export interface PaymentGateway {
  charge(request: { orderId: string; token: string; amountCents: number; currency: string }): Promise<ChargeResult>;
  refund(request: { orderId: string; amountCents: number; currency: string }): Promise<void>;
}

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
        const calls = await this.countCall(orderId);
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

  private async countCall(orderId: string): Promise<number> {
    const { rows } = await this.pool.query<{ calls: number }>(
      `INSERT INTO gateway_calls (order_id, calls) VALUES ($1, 1)
       ON CONFLICT (order_id) DO UPDATE SET calls = gateway_calls.calls + 1, updated_at = now()
       RETURNING calls`,
      [orderId],
    );
    return rows[0]?.calls ?? 1;
  }
}
