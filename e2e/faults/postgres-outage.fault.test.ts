import { anOrderRequest, ensureDbRoles, TestBroker } from '@troupe/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { needs } from '../support/needs';
import { SERVICES, System } from '../support/system';
import { streamOrders, type Placed } from './load';
import { OwnPostgres, postgresBinDir } from './own-postgres';
import { expectAllInvariants, injectPoison, LADDER_MS, lastCompletion, report, SHORT_LADDER } from './outage-run';

// The database server stopped for far longer than the retry ladder (decision 0009): the services
// pause their subscriptions instead of spending attempts, answer 503 + Retry-After over HTTP, and
// resume by themselves when it is back. The four databases live on a Postgres cluster of the
// test's own (initdb in a temp dir, its own port), so stopping it disturbs nobody else.
const OUTAGE_MS = 12_000;
const bin = postgresBinDir();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.runIf(needs('PostgreSQL server binaries (initdb, pg_ctl) and root', bin !== undefined))('with the whole Postgres server stopped', () => {
  let cluster: OwnPostgres;
  let system: System;
  let broker: TestBroker;

  beforeAll(async () => {
    cluster = await OwnPostgres.create(bin!);
    // The services' roles, as on every Postgres troupe runs on (the cluster is new).
    await ensureDbRoles(cluster.url, inject('access'));
    system = await System.create(
      { rabbitmqUrl: inject('rabbitmqUrl'), brokerAdmin: inject('brokerAdmin'), databaseUrl: cluster.url, access: inject('access') },
      'pgdown',
      SHORT_LADDER,
    );
    await system.startAll();
    broker = await TestBroker.connect(system.vhost.url);
  });

  beforeEach(({ onTestFailed }) => {
    onTestFailed(() => console.error(`--- what the services printed ---\n${system.logs.since()}`));
  });

  afterAll(async () => {
    await broker?.close();
    // Restored whatever happened, so the databases can be dropped; then the cluster goes entirely.
    if (cluster && !cluster.running) await cluster.start().catch(() => undefined);
    await system?.shutdown().catch((error: unknown) => console.error(error));
    await cluster?.destroy();
  });

  it('when Postgres is stopped for longer than the whole retry ladder during a stream, then nothing is dead-lettered, HTTP answers 503 with Retry-After, and every order completes once it is back', async () => {
    const poison = [await injectPoison(broker)];
    const duringOutage: { post: number[]; get: number[]; retryAfter: (string | null)[]; readyz: number[] } = { post: [], get: [], retryAfter: [], readyz: [] };
    const key = `outage-${Date.now()}`;
    const retried = anOrderRequest({ customerId: 'retried-after-outage', items: [{ sku: 'SKU-MUG', quantity: 1 }] });
    const postRetried = () =>
      fetch(`${system.baseUrl('order')}/orders`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key }, body: JSON.stringify(retried) });
    let downAt = 0;
    let returnedAt = 0;

    const placed = await streamOrders(system, { perSecond: 10, durationMs: 24_000 }, async () => {
      await sleep(4_000);
      await cluster.stop();
      downAt = Date.now();
      while (Date.now() - downAt < OUTAGE_MS) {
        const started = Date.now();
        const post = await postRetried();
        duringOutage.post.push(post.status);
        duringOutage.retryAfter.push(post.headers.get('retry-after'));
        expect(Date.now() - started, 'answered within the pool bounds').toBeLessThan(16_000);
        duringOutage.get.push((await fetch(`${system.baseUrl('order')}/orders/00000000-0000-4000-8000-000000000000`)).status);
        duringOutage.readyz.push((await fetch(`${system.baseUrl('payment')}/readyz`)).status);
        await sleep(1_000);
      }
      await cluster.start();
      returnedAt = Date.now();
    });

    // Every request answered, none with a 500 or a hang; the same key afterwards gives one order.
    expect(new Set(duringOutage.post)).toEqual(new Set([503]));
    expect(new Set(duringOutage.get)).toEqual(new Set([503]));
    expect(new Set(duringOutage.retryAfter)).toEqual(new Set(['5']));
    expect(duringOutage.readyz).toContain(503);
    const first = await postRetried();
    expect(first.status).toBe(202);
    const { orderId } = (await first.json()) as { orderId: string };
    const again = await postRetried();
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { orderId: string }).orderId).toBe(orderId);
    const all: Placed[] = [...placed, { orderId, kind: 'visa', sku: 'SKU-MUG', quantity: 1 }];

    const depths = await expectAllInvariants(system, broker, all, poison);
    // Whether a service's handlers met the outage depends on what each had in hand when it began
    // (on a quiet host every message may be done before the stop, and the HTTP side answers 503
    // on its own): report it, and require that any service that paused sees the database back.
    const metrics = await Promise.all(SERVICES.map(async (s) => (await fetch(`${system.baseUrl(s)}/metrics`)).text()));
    const outages = metrics.map((text) => Number(/troupe_dependency_outages_total\{[^}]*dependency="database"[^}]*\} (\d+)/.exec(text)?.[1] ?? 0));
    console.log(`database outages seen by the services' handlers: ${SERVICES.map((s, i) => `${s} ${outages[i]}`).join(', ')}`);
    for (const text of metrics) expect(text).not.toMatch(/troupe_dependency_up\{[^}]*dependency="database"[^}]*\} 0/);
    const outageMs = returnedAt - downAt;
    expect(outageMs).toBeGreaterThan(5 * LADDER_MS);
    report('postgres stopped', { placed: all, outageMs, depths, recoveryMs: (await lastCompletion(system, all)) - returnedAt });
  });
});
