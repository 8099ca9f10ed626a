import type { Pool } from 'pg';

/** Counts a call to the simulated gateway for an order, outside any caller's transaction; returns the count so far. */
export async function countGatewayCall(pool: Pool, orderId: string): Promise<number> {
  const { rows } = await pool.query<{ calls: number }>(
    `INSERT INTO gateway_calls (order_id, calls) VALUES ($1, 1)
     ON CONFLICT (order_id) DO UPDATE SET calls = gateway_calls.calls + 1, updated_at = now()
     RETURNING calls`,
    [orderId],
  );
  return rows[0]?.calls ?? 1;
}
