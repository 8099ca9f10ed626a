import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../support/api';
import { useSystem } from '../support/hooks';
import { streamOrders } from './load';
import { expectAllInvariants, injectPoison, LADDER_MS, lastCompletion, report, SHORT_LADDER } from './outage-run';
import { SmtpSink } from './smtp-sink';

// The notification service's SMTP server gone for far longer than the retry ladder (decision
// 0009): notification pauses the subscriptions whose handlers met the outage, probes the server,
// and resumes by itself; the other three services never notice. A real SMTP server of the test's
// own, stopped (its port refuses connections) and started again on the same port.
const OUTAGE_MS = 10_000;
const sink = new SmtpSink();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => sink.start());
afterAll(() => sink.stop());
const ctx = useSystem('smtpdown', () => ({ ...SHORT_LADDER, SMTP_URL: sink.url }));

describe('with the SMTP server gone', () => {
  it('when the SMTP server is down for longer than the whole retry ladder during a stream, then nothing is dead-lettered and every customer is told once it is back', async () => {
    const poison = [await injectPoison(ctx.broker)];
    let downAt = 0;
    let returnedAt = 0;
    let readyzWhileDown: { status: number; body: { checks: { dependencies: Record<string, { up: boolean }> } } } | undefined;
    const placed = await streamOrders(ctx.system, { perSecond: 10, durationMs: 18_000 }, async () => {
      await sleep(3_000);
      await sink.stop();
      downAt = Date.now();
      await sleep(OUTAGE_MS / 2);
      const ready = await fetch(`${ctx.system.baseUrl('notification')}/readyz`);
      readyzWhileDown = { status: ready.status, body: (await ready.json()) as never };
      await sleep(OUTAGE_MS / 2);
      await sink.start();
      returnedAt = Date.now();
    });

    expect(readyzWhileDown?.status).toBe(503);
    expect(readyzWhileDown?.body.checks.dependencies.smtp?.up).toBe(false);
    const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    // One mail per notification: the outage repeated none.
    const [row] = await sql<{ n: string }>(ctx.system, 'notification', "SELECT count(*) AS n FROM notifications WHERE channel = 'email'");
    expect(sink.received).toBe(Number(row?.n));
    const metrics = await (await fetch(`${ctx.system.baseUrl('notification')}/metrics`)).text();
    expect(metrics).toMatch(/troupe_dependency_outages_total\{dependency="smtp",service="notification"\} [1-9]/);
    expect(metrics).toMatch(/troupe_dependency_up\{dependency="smtp",service="notification"\} 1/);
    const outageMs = returnedAt - downAt;
    expect(outageMs).toBeGreaterThan(5 * LADDER_MS);
    report('smtp down', { placed, outageMs, depths, recoveryMs: (await lastCompletion(ctx.system, placed)) - returnedAt });
  });
});
