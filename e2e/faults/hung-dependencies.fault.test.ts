import { query } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { useSystem } from '../support/hooks';
import { needs } from '../support/needs';
import { SERVICES, type Service, type System } from '../support/system';
import { brokerIsLocallyControllable, clearMemoryAlarm, closeServiceConnections, raiseMemoryAlarm } from './broker-control';
import { mailCounts } from './mail-counts';
import { expectAllInvariants, injectPoison, lastCompletion, report, SHORT_LADDER, streamWithOutage } from './outage-run';
import { SmtpSink } from './smtp-sink';

// Dependencies that answer the connection and then say nothing (decision 0025): an SMTP server
// that accepts TCP and never greets (and never answers a mail whose data it is taking), and a
// broker that takes publishes and never confirms them (its memory alarm blocks every publishing
// connection). Both used to hold the transaction waiting on them, and its row locks, for as long
// as they hung. Each wait is bounded now: the hang ends as the dependency's outage (the work
// pauses and resumes by itself), and no transaction stays open much past the bound.
const OUTAGE_MS = 10_000;
const SMTP_TIMEOUT_MS = 1000;
const CONFIRM_TIMEOUT_MS = 2000;
/** What a loaded two-core machine may add to a bound before the transaction ends. */
const SLACK_MS = 2000;
const sink = new SmtpSink();
const poison: string[] = [];

beforeAll(() => sink.start());
// The broker is put back whatever the test met on the way.
afterAll(() => Promise.all([sink.stop(), clearMemoryAlarm()]));
const ctx = useSystem('hung', () => ({
  ...SHORT_LADDER,
  SMTP_URL: sink.url,
  SMTP_TIMEOUT_MS: String(SMTP_TIMEOUT_MS),
  RABBITMQ_CONFIRM_TIMEOUT_MS: String(CONFIRM_TIMEOUT_MS),
}));

describe('with a dependency that hangs', () => {
  it('when the SMTP server accepts connections and never answers during a stream, then it is an SMTP outage: no transaction waits on it past the bound, and every customer gets one mail once it answers', async () => {
    poison.push(await injectPoison(ctx.broker));
    let dataPhase: NodeJS.Timeout | undefined;
    // Notification's transactions: each sends its mail before it commits.
    const watch = TransactionWatch.start(inject('databaseUrl'), ctx.system, ['notification']);
    const { placed, downAt, returnedAt, readyzWhileDown } = await streamWithOutage(ctx.system, {
      outageMs: OUTAGE_MS,
      watched: 'notification',
      // Never greeting for the first 6 s (so /readyz, read halfway, finds the probe failing),
      // then greeting and hanging once a mail's data is in: the probe passes, every mail tried
      // hangs mid-data and is handed back.
      takeAway: async () => {
        sink.hanging = 'greeting';
        dataPhase = setTimeout(() => (sink.hanging = 'data'), OUTAGE_MS * 0.6);
      },
      bringBack: async () => {
        clearTimeout(dataPhase);
        sink.hanging = false;
      },
    });
    const longest = await watch.stop();

    expect(readyzWhileDown?.status).toBe(503);
    expect(readyzWhileDown?.body.checks.dependencies.smtp?.up).toBe(false);
    const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
    const mails = await mailCounts(ctx.system, sink, placed);
    expect(mails.missing).toEqual([]);
    expect(mails.repeated).toEqual([]);
    expect(sink.stalled, 'mails left unanswered mid-data').toBeGreaterThan(0);
    expect(longest.ms, `longest open transaction idle while the SMTP server hung (${longest.where})`).toBeLessThan(SMTP_TIMEOUT_MS + SLACK_MS);
    const metrics = await (await fetch(`${ctx.system.baseUrl('notification')}/metrics`)).text();
    expect(metrics).toMatch(/troupe_dependency_outages_total\{dependency="smtp",service="notification"\} [1-9]/);
    console.log(`smtp hung: ${sink.stalled} mails stalled mid-data, longest idle transaction ${longest.ms} ms (${longest.where})`);
    report('smtp hung', { placed, outageMs: returnedAt - downAt, depths, recoveryMs: (await lastCompletion(ctx.system, placed)) - returnedAt });
  });

  it.runIf(needs('a broker on this host that rabbitmqctl controls (its memory alarm is raised)', brokerIsLocallyControllable(inject('rabbitmqUrl'))))(
    'when the broker takes publishes and never confirms them during a stream, then it is the broker away: no transaction waits on a confirm past the bound, and every order completes with one mail once it confirms again',
    async () => {
      poison.push(await injectPoison(ctx.broker));
      const receivedBefore = sink.received;
      // Every service's outbox claims: each holds its rows locked until the broker confirms them.
      const watch = TransactionWatch.start(inject('databaseUrl'), ctx.system, SERVICES, 'FOR UPDATE SKIP LOCKED');
      const { placed, downAt, returnedAt, readyzWhileDown } = await streamWithOutage(ctx.system, {
        outageMs: OUTAGE_MS,
        watched: 'order',
        // The alarm first, then every service's connection cut: each reconnects under the alarm,
        // and its outbox claimer takes the events the cut left behind, in a transaction that
        // holds their rows while it waits for confirms that do not come.
        takeAway: async () => {
          await raiseMemoryAlarm();
          await closeServiceConnections(inject('brokerAdmin'), ctx.system.vhost.name, SERVICES);
        },
        bringBack: clearMemoryAlarm,
      });
      const longest = await watch.stop();

      // The order service found its publishes unconfirmed and gave the broker up for the while.
      expect(readyzWhileDown?.status).toBe(503);
      const depths = await expectAllInvariants(ctx.system, ctx.broker, placed, poison);
      const mails = await mailCounts(ctx.system, sink, placed);
      expect(mails.missing).toEqual([]);
      expect(mails.repeated).toEqual([]);
      expect(sink.received - receivedBefore).toBe(placed.length);
      expect(longest.ms, 'an outbox claim seen waiting on the broker').toBeGreaterThan(0);
      expect(longest.ms, `longest outbox claim waiting on the broker (${longest.where})`).toBeLessThan(CONFIRM_TIMEOUT_MS + SLACK_MS);
      const metrics = await (await fetch(`${ctx.system.baseUrl('order')}/metrics`)).text();
      expect(metrics).toMatch(/troupe_publish_failures_total\{[^}]*\} [1-9]/);
      console.log(`broker not confirming: longest outbox claim waiting ${longest.ms} ms (${longest.where})`);
      report('broker not confirming', { placed, outageMs: returnedAt - downAt, depths, recoveryMs: (await lastCompletion(ctx.system, placed)) - returnedAt });
    },
  );
});

/**
 * Samples the sessions of some services' databases every 100 ms (as the admin user, who sees them
 * all) and keeps the oldest transaction found idle, waiting on something outside the database;
 * with `lastStatement`, only those whose last statement contains it. (The payment service's
 * transactions wait on the card gateway, up to its own bound: not what these runs watch.)
 */
class TransactionWatch {
  private longest = { ms: 0, where: 'none seen' };
  private stopped = false;
  private round: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(
    private readonly admin: string,
    private readonly databases: string[],
    private readonly lastStatement: string,
  ) {}

  static start(admin: string, system: System, services: readonly Service[], lastStatement = ''): TransactionWatch {
    const databases = services.map((service) => new URL(system.databaseUrl(service)).pathname.slice(1));
    const watch = new TransactionWatch(admin, databases, lastStatement);
    watch.loop();
    return watch;
  }

  /** Ends the sampling; the oldest idle transaction seen, in ms, and in which database. */
  async stop(): Promise<{ ms: number; where: string }> {
    this.stopped = true;
    await this.round;
    if (this.failure !== undefined) throw this.failure;
    return this.longest;
  }

  private loop(): void {
    if (this.stopped) return;
    this.round = this.sample()
      .catch((error: unknown) => {
        this.failure ??= error;
      })
      .then(() => new Promise((resolve) => setTimeout(resolve, 100)))
      .then(() => this.loop());
  }

  private async sample(): Promise<void> {
    const rows = await query<{ datname: string; ms: number; query: string }>(
      this.admin,
      `SELECT datname, (extract(epoch FROM now() - xact_start) * 1000)::int AS ms, left(query, 80) AS query
         FROM pg_stat_activity WHERE datname = ANY($1) AND state LIKE 'idle in transaction%' AND strpos(query, $2) > 0`,
      [this.databases, this.lastStatement],
    );
    for (const row of rows) if (row.ms > this.longest.ms) this.longest = { ms: row.ms, where: `${row.datname}: ${row.query}` };
  }
}
