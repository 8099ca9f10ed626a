import { afterEach, describe, expect, it } from 'vitest';
import { useSystem } from '../support/hooks';
import { ledgerCounts, ledgerTotals, streamOrders } from './load';
import { expectAllInvariants, injectPoison, LADDER_MS, lastCompletion, report, SHORT_LADDER, streamWithOutage } from './outage-run';

// The card gateway is a dependency of its own (services/gateway), with its ledger in its own
// database. Killed for far longer than the retry ladder, payment pauses the subscription that met
// the outage (decision 0009) and resumes when the gateway's /healthz answers; payment killed in the
// middle of charging redelivers the order, and the gateway's idempotency key (the order id) keeps
// the card charged once. The gateway's ledger is the count that matters: the card holder's.
const OUTAGE_MS = 10_000;
const poison: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ctx = useSystem('gatewaydown', () => SHORT_LADDER);

afterEach(async () => {
  for (const service of ['gateway', 'payment'] as const) if (!ctx.system.isRunning(service)) await ctx.system.start(service);
});

describe('with the card gateway gone', () => {
  it('when the gateway is SIGKILLed and stays down for longer than the whole retry ladder during a stream, then nothing is dead-lettered and every order is charged once when it is back', async () => {
    poison.push(await injectPoison(ctx.broker));
    const { placed, downAt, returnedAt, readyzWhileDown } = await streamWithOutage(ctx.system, {
      outageMs: OUTAGE_MS,
      watched: 'payment',
      takeAway: async () => void (await ctx.system.kill('gateway')),
      bringBack: () => ctx.system.start('gateway'),
    });

    expect(readyzWhileDown?.status).toBe(503);
    expect(readyzWhileDown?.body.checks.dependencies.gateway?.up).toBe(false);
    const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    const metrics = await (await fetch(`${ctx.system.baseUrl('payment')}/metrics`)).text();
    expect(metrics).toMatch(/troupe_dependency_outages_total\{dependency="gateway",service="payment"\} [1-9]/);
    expect(metrics).toMatch(/troupe_dependency_up\{dependency="gateway",service="payment"\} 1/);
    const outageMs = returnedAt - downAt;
    expect(outageMs).toBeGreaterThan(5 * LADDER_MS);
    report('gateway down', { placed, outageMs, depths, recoveryMs: (await lastCompletion(ctx.system, placed)) - returnedAt });
    console.log(`gateway down: ledger ${JSON.stringify(ledgerTotals(await ledgerCounts(ctx.system, placed.map((p) => p.orderId))))}`);
  });

  it('when payment is SIGKILLed three times while it charges a stream, then the gateway holds exactly one charge per order and one refund per sold-out order', async () => {
    poison.push(await injectPoison(ctx.broker));
    const placed = await streamOrders(ctx.system, { perSecond: 20, durationMs: 9_000 }, async () => {
      for (let i = 0; i < 3; i++) {
        await sleep(2_000);
        await ctx.system.kill('payment');
        await sleep(300);
        await ctx.system.start('payment');
      }
    });

    await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    const ledger = ledgerTotals(await ledgerCounts(ctx.system, placed.map((p) => p.orderId)));
    console.log(`payment SIGKILLed 3 times: ${placed.length} orders, gateway ledger ${JSON.stringify(ledger)}`);
  });
});
