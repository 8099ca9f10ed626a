import { describe, expect, it } from 'vitest';
import { useSystem } from '../support/hooks';
import { expectAllInvariants, ledgerCounts, ledgerTotals, streamOrders } from './load';

// The card gateway's failure switch at 25%: a quarter of charges and refunds answered 503 before
// anything is charged. Payment retries them with backoff; the gateway's ledger must still hold
// exactly one charge per order and one refund per sold-out order. tok_flaky needs three answered
// calls besides the switch's failures, so the ladder here is long enough that running out of
// attempts is a chance of about 1 in 30,000 per flaky order (12 attempts, at most 9 struck).
const ADMIN_TOKEN = 'gateway-failures-admin-token';
const ctx = useSystem('gatewayfail', () => ({ ADMIN_TOKEN, RETRY_MAX_ATTEMPTS: '12', RETRY_BASE_DELAY_MS: '50' }));

const setFailureRate = async (failureRate: number) => {
  const response = await fetch(`${ctx.system.baseUrl('gateway')}/admin/faults`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ gatewayFailureRate: failureRate }),
  });
  expect(response.status).toBe(200);
};

describe("with the gateway's failure switch on", () => {
  it('when the gateway fails 25% of calls during a stream, then every order is charged exactly once and every sold-out order refunded once', async () => {
    await setFailureRate(0.25);
    let placed;
    try {
      placed = await streamOrders(ctx.system, { perSecond: 10, durationMs: 12_000 }, async () => undefined);
      await expectAllInvariants(ctx.system, ctx.broker, placed, 0);
    } finally {
      await setFailureRate(0);
    }
    const metrics = await (await fetch(`${ctx.system.baseUrl('payment')}/metrics`)).text();
    const retried = [...metrics.matchAll(/^troupe_messages_retried_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    expect(retried, 'the switch did strike').toBeGreaterThan(0);
    console.log(`gateway failing 25%: ${placed.length} orders, ${retried} retries in payment, gateway ledger ${JSON.stringify(ledgerTotals(await ledgerCounts(ctx.system, placed.map((p) => p.orderId))))}`);
  });
});
