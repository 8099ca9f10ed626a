import { eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../support/api';
import { useSystem } from '../support/hooks';
import { streamOrders } from './load';
import { expectAllInvariants, injectPoison, LADDER_MS, lastCompletion, report, SHORT_LADDER, streamWithOutage } from './outage-run';
import { SmtpSink } from './smtp-sink';

// The notification service's SMTP server gone for far longer than the retry ladder (decision
// 0009): notification pauses the subscriptions whose handlers met the outage, probes the server,
// and resumes by itself; the other three services never notice. A real SMTP server of the test's
// own, stopped (its port refuses connections) and started again on the same port.
const OUTAGE_MS = 10_000;
const sink = new SmtpSink();
/** The poison injected by every test of this file: what payment's dead letters must hold, and all. */
const poison: string[] = [];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(() => sink.start());
afterAll(() => sink.stop());
const ctx = useSystem('smtpdown', () => ({ ...SHORT_LADDER, SMTP_URL: sink.url }));

describe('with the SMTP server gone', () => {
  it('when the SMTP server is down for longer than the whole retry ladder during a stream, then nothing is dead-lettered and every customer is told once it is back', async () => {
    poison.push(await injectPoison(ctx.broker));
    const { placed, downAt, returnedAt, readyzWhileDown } = await streamWithOutage(ctx.system, {
      outageMs: OUTAGE_MS,
      watched: 'notification',
      takeAway: () => sink.stop(),
      bringBack: () => sink.start(),
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

  it('when the SMTP server answers but refuses every mail with 421 for longer than 20 hand-backs of one message, then nothing is dead-lettered, no attempt is spent, and every customer is told once', async () => {
    // The server answers (its probe passes), so each mail is tried again as soon as the
    // subscription resumes and handed back again: the same message many times over. RabbitMQ 4
    // counts a nack towards the queue's delivery limit (10 here); a hand-back is a fresh copy.
    poison.push(await injectPoison(ctx.broker));
    const receivedBefore = sink.received;
    const handBacksBefore = await handBacks();
    let refusedFrom = 0;
    let refusedUntil = 0;
    const placed = await streamOrders(ctx.system, { perSecond: 10, durationMs: 16_000 }, async () => {
      await sleep(2_000);
      sink.refusing = true;
      refusedFrom = Date.now();
      await eventually(() => Math.max(0, ...sink.refusals.values()) > 20, { timeoutMs: 60_000, intervalMs: 200, what: 'one mail refused more than 20 times' });
      sink.refusing = false;
      refusedUntil = Date.now();
    });

    const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    const [row] = await sql<{ n: string }>(ctx.system, 'notification', "SELECT count(*) AS n FROM notifications WHERE channel = 'email' AND order_id = ANY($1::uuid[])", [placed.map((p) => p.orderId)]);
    expect(sink.received - receivedBefore).toBe(Number(row?.n));
    const [spent] = await sql<{ n: string }>(ctx.system, 'notification', 'SELECT count(*) AS n FROM troupe_failed_attempts WHERE order_id = ANY($1::uuid[])', [placed.map((p) => p.orderId)]);
    expect(Number(spent?.n), 'attempts spent on the refusals').toBe(0);
    const perMessage = [...sink.refusals.values()].sort((a, b) => b - a);
    console.log(
      `smtp refusing: ${placed.length} orders, refused for ${((refusedUntil - refusedFrom) / 1000).toFixed(1)} s, ${perMessage.length} mails refused ` +
        `(most ${perMessage[0]}, median ${perMessage[Math.floor(perMessage.length / 2)]} times each), ${(await handBacks()) - handBacksBefore} hand-backs, DLQs after ${JSON.stringify(depths)}`,
    );
    sink.refusals.clear();
  });
});

/** Messages notification handed back to their queue so far (a dependency away). */
async function handBacks(): Promise<number> {
  const metrics = await (await fetch(`${ctx.system.baseUrl('notification')}/metrics`)).text();
  return [...metrics.matchAll(/^troupe_messages_consumed_total\{[^}]*outcome="requeued"[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
}
