import { query } from '@troupe/testing';
import { describe, expect, inject, it } from 'vitest';
import { getStock } from '../support/api';
import { useSystem } from '../support/hooks';
import { streamOrders } from './load';
import { expectAllInvariants, injectPoison, LADDER_MS, lastCompletion, report, SHORT_LADDER } from './outage-run';

// One service's database unavailable for far longer than the retry ladder while the other three
// run (decision 0009): payment's database refuses new connections and its sessions are
// terminated over and over, as a failover or a maintenance window would. Payment pauses; order,
// inventory and notification go on; payment resumes by itself when its database is back.
const OUTAGE_MS = 10_000;
const ctx = useSystem('dbpaused', () => SHORT_LADDER);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("with one service's database unavailable", () => {
  it("when payment's database refuses connections for longer than the whole retry ladder during a stream, then nothing is dead-lettered, the others keep serving, and payment resumes by itself", async () => {
    const poison = [await injectPoison(ctx.broker)];
    const admin = inject('databaseUrl');
    const name = new URL(ctx.system.databaseUrl('payment')).pathname.slice(1);
    let downAt = 0;
    let returnedAt = 0;
    const othersWhileDown: number[] = [];
    const paymentReadyz: number[] = [];
    const placed = await streamOrders(ctx.system, { perSecond: 10, durationMs: 18_000 }, async () => {
      await sleep(3_000);
      downAt = Date.now();
      try {
        await query(admin, `ALTER DATABASE "${name}" ALLOW_CONNECTIONS false`);
        while (Date.now() - downAt < OUTAGE_MS) {
          await query(admin, 'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
          othersWhileDown.push((await fetch(`${ctx.system.baseUrl('inventory')}/readyz`)).status, (await getStock(ctx.system, 'SKU-MUG').then(() => 200, () => 500)));
          paymentReadyz.push((await fetch(`${ctx.system.baseUrl('payment')}/readyz`)).status);
          await sleep(500);
        }
      } finally {
        await query(admin, `ALTER DATABASE "${name}" ALLOW_CONNECTIONS true`);
        returnedAt = Date.now();
      }
    });

    expect(new Set(othersWhileDown)).toEqual(new Set([200]));
    expect(paymentReadyz).toContain(503);
    const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    const metrics = await (await fetch(`${ctx.system.baseUrl('payment')}/metrics`)).text();
    expect(metrics).toMatch(/troupe_dependency_outages_total\{dependency="database",service="payment"\} [1-9]/);
    const outageMs = returnedAt - downAt;
    expect(outageMs).toBeGreaterThan(5 * LADDER_MS);
    report('payment database unavailable', { placed, outageMs, depths, recoveryMs: (await lastCompletion(ctx.system, placed)) - returnedAt });
  });
});
