import { randomUUID } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anEvent } from '@troupe/testing';
import { placeOrder, settled } from './support/api';
import { browserAvailable, launch, screenshot } from './support/browser';
import { useSystem } from './support/hooks';
import { OBSERVER_ADMIN_TOKEN, startObserver } from './support/observer';
import { freePort, type ServiceProcess } from './support/system';
import { startWebFront } from './support/web-front';

// The page's choreography map and invariants in a real headless Chromium, drawn from a real
// observer watching the four services as real processes.
const ADMIN_TOKEN = OBSERVER_ADMIN_TOKEN;
const JAEGER = 'http://jaeger.example:16686';
const env = useSystem('web-choreography', () => ({ ADMIN_TOKEN }));

describe.skipIf(!browserAvailable())('the page: the choreography map and the invariants', () => {
  let browser: Browser;
  let page: Page;
  let web: { url: string; proc: ServiceProcess };
  let observer: { url: string; proc: ServiceProcess };

  beforeAll(async () => {
    observer = await startObserver(env.system, { OBSERVER_SETTLE_WITHIN_MS: '3000', OBSERVER_CONSISTENCY_GRACE_MS: '300' });
    web = await startWebFront(env.system, { ADMIN_TOKEN, JAEGER_UI_URL: JAEGER, OBSERVER_URL: observer.url });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(web.url);
    await page.locator('#map[data-state="live"]').waitFor({ timeout: 15_000 });
  });

  afterAll(async () => {
    await browser?.close();
    await web?.proc.stop();
    await observer?.proc.stop();
  });

  const edge = (id: string) => page.locator(`#map [data-edge-id="${id}"]`);
  const perMinute = (id: string) => edge(id).getAttribute('data-per-minute').then(Number);
  const violation = (invariant: string, orderId: string) => page.locator(`#violations li[data-invariant="${invariant}"][data-order-id="${orderId}"]`);

  it('when orders take every path, then each declared edge is drawn with its rate per minute above zero, and every queue consuming', async () => {
    const orders = await Promise.all([
      placeOrder(env.system),
      placeOrder(env.system, { paymentMethod: { token: 'tok_declined' } }),
      placeOrder(env.system, { items: [{ sku: 'SKU-SOLDOUT', quantity: 1 }] }),
    ]);
    await Promise.all(orders.map((o) => settled(env.system, o.orderId)));
    // Twelve edges the AsyncAPI document declares, four services publishing, eight subscriber queues.
    await expect.poll(() => page.locator('#map [data-edge-id][data-declared="true"][data-per-minute="0"]').count(), { timeout: 15_000 }).toBe(0);
    expect(await page.locator('#map [data-edge-id][data-declared="true"]').count()).toBe(12);
    expect(await perMinute('order.events/OrderPlaced/payment')).toBe(3);
    expect(await perMinute('payment.events/PaymentRefunded/notification')).toBe(1);
    expect(await edge('payment.events/PaymentCompleted/inventory').getAttribute('data-state')).toBe('flowing');
    expect(await edge('payment.events/PaymentCompleted/inventory').getAttribute('aria-label')).toMatch(/^PaymentCompleted from payment\.events to inventory\.payment\.events: 2\/min, last seen \d+ s ago, flowing$/);
    expect(await page.locator('#map [data-edge-id="payment.events/PaymentCompleted/inventory"] .edge-rate').textContent()).toBe('2/min');
    await expect.poll(() => page.locator('#map [data-map-service][data-ready="true"]').count(), { timeout: 10_000 }).toBe(4);
    expect(await page.locator('#map [data-queue]').count()).toBe(8);
    expect(await page.locator('#map [data-queue][data-consuming="true"]').count()).toBe(8);
    expect(await page.locator('#map [data-queue="inventory.payment.events"]').getAttribute('aria-label')).toBe('queue inventory.payment.events of inventory: consuming · 0 ready · 0 unacked');
    expect(await page.locator('#map-drift li').count()).toBe(0);
    expect(await page.locator('#invariants-state').textContent()).toMatch(/^All hold · checked \d+ s ago/);
    await screenshot(page, 'map-traffic', page.locator('#map'));
  });

  it('when an undeclared event type is published on an exchange, then the map shows it in the warning colour, with its count and a sample', async () => {
    const stray = { id: randomUUID(), type: 'PaymentTeleported', version: 1, occurredAt: new Date().toISOString(), orderId: randomUUID(), data: { where: 'the moon' } };
    await env.broker.publish('payment.events', stray);
    await env.broker.publish('payment.events', { ...stray, id: randomUUID() });
    const drift = page.locator('#map-drift li[data-drift-kind="undeclared-type"][data-type="PaymentTeleported"]');
    await expect.poll(() => drift.getAttribute('data-count').catch(() => null), { timeout: 15_000 }).toBe('2');
    expect(await drift.getAttribute('data-exchange')).toBe('payment.events');
    expect(await drift.locator('summary').textContent()).toMatch(/^undeclared event type PaymentTeleported on payment\.events · 2× · last seen \d+ s ago$/);
    // A sample is a message body: the page shows it to the admin token alone.
    await drift.locator('summary').click();
    expect(await drift.locator('.drift-sample').count()).toBe(0);
    expect(await drift.locator('.drift-no-sample').textContent()).toContain('unlocked with the admin token');
    const anyone = (await (await fetch(`${web.url}/api/map`)).json()) as { drift: { type?: string; sample?: string }[] };
    expect(anyone.drift.find((d) => d.type === 'PaymentTeleported')?.sample).toBeUndefined();
    const asAdmin = (await (await fetch(`${web.url}/api/map`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as typeof anyone;
    expect(asAdmin.drift.find((d) => d.type === 'PaymentTeleported')?.sample).toContain('"where":"the moon"');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => drift.locator('.drift-sample').count(), { timeout: 10_000 }).toBe(1);
    await drift.locator('summary').click();
    expect(await drift.locator('.drift-sample').textContent()).toContain('"where":"the moon"');
    // Fanout: the stray type reaches every queue bound to payment.events, each an undeclared edge.
    for (const subscriber of ['order', 'inventory', 'notification']) {
      const stranger = edge(`payment.events/PaymentTeleported/${subscriber}`);
      expect(await stranger.getAttribute('data-state')).toBe('undeclared');
      expect(await stranger.getAttribute('data-per-minute')).toBe('2');
    }
    expect(await page.locator('#map-state').textContent()).toMatch(/· 1 drift entry · 3 undeclared edges$/);
    await screenshot(page, 'map-drift', page.locator('#map'));
    // A page of its own (a fresh session, locked), for the tests that follow.
    await page.close();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(web.url);
    await page.locator('#map[data-state="live"]').waitFor({ timeout: 15_000 });
  });

  it('when notification is stopped past the settle bound, then order-settles opens with links to the journey and the trace; started again, it clears', async () => {
    await env.system.stop('notification');
    const order = await placeOrder(env.system);
    const open = violation('order-settles', order.orderId);
    try {
      await open.waitFor({ timeout: 20_000 });
      expect(await open.locator('.detail').textContent()).toContain('after OrderPlaced');
      expect(await open.getByRole('link', { name: /Trace in Jaeger/ }).getAttribute('href')).toBe(`${JAEGER}/trace/${order.traceId}`);
      await expect.poll(() => page.locator('#map [data-map-service="notification"]').getAttribute('data-ready'), { timeout: 10_000 }).not.toBe('true');
      await open.getByRole('link', { name: `Order ${order.orderId.slice(0, 8)}'s journey` }).click();
      await expect.poll(() => page.locator('#journey-id').textContent()).toBe(order.orderId);
      await screenshot(page, 'invariant-open', page.locator('#invariants'));
    } finally {
      await env.system.start('notification');
    }
    await open.waitFor({ state: 'detached', timeout: 20_000 });
    expect(Number(await page.locator('[data-found-invariant="order-settles"]').getAttribute('data-count'))).toBeGreaterThanOrEqual(1);
  });

  it('when an event is forged for a declined order, then events-consistent opens, and Resolve, with the admin token, closes it', async () => {
    const order = await placeOrder(env.system, { paymentMethod: { token: 'tok_declined' } });
    await settled(env.system, order.orderId);
    await env.broker.publish('inventory.events', anEvent('InventoryReserved', { orderId: order.orderId }));
    const open = violation('events-consistent', order.orderId);
    await open.waitFor({ timeout: 20_000 });
    // Without the token typed in, Resolve says where to type it.
    await open.getByRole('button', { name: /^Resolve/ }).click();
    expect(await open.locator('.resolve-status').textContent()).toBe('Unlock Operations with the admin token first.');
    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Unlock' }).click();
    await open.getByRole('button', { name: /^Resolve/ }).click();
    await open.waitFor({ state: 'detached', timeout: 10_000 });
    expect(Number(await page.locator('[data-found-invariant="events-consistent"]').getAttribute('data-count'))).toBeGreaterThanOrEqual(1);
  });

  it("when resolve is asked through the web front, then it needs the admin token, and an unknown or overlong id is refused", async () => {
    const resolve = (id: string, token?: string) => fetch(`${web.url}/api/admin/invariants/${encodeURIComponent(id)}/resolve`, { method: 'POST', ...(token ? { headers: { authorization: `Bearer ${token}` } } : {}) });
    expect((await resolve('order-settles:nothing')).status).toBe(401);
    const unknown = await resolve('order-settles:nothing', ADMIN_TOKEN);
    expect(unknown.status).toBe(404);
    const long = await resolve('x'.repeat(201), ADMIN_TOKEN);
    expect([long.status, await long.json()]).toEqual([400, { error: 'invalid request: id: must be at most 200 characters', details: [{ field: 'id', message: 'must be at most 200 characters' }] }]);
  });

  it('when the observer is not running, then the API answers 502 naming it, and the map panel says so', async () => {
    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const blind = await startWebFront(env.system, { OBSERVER_URL: nowhere });
    try {
      const answer = await fetch(`${blind.url}/api/map`);
      expect([answer.status, await answer.json()]).toEqual([502, { error: 'the observer service is not answering' }]);
      expect((await fetch(`${blind.url}/api/invariants`)).status).toBe(502);
      const other = await browser.newPage();
      await other.goto(blind.url);
      await other.locator('#map[data-state="unavailable"]').waitFor({ timeout: 10_000 });
      expect(await other.locator('#map-state').textContent()).toBe('the observer service is not answering: the map needs the observer (services/observer, OBSERVER_URL)');
      await other.locator('#invariants[data-state="unavailable"]').waitFor({ timeout: 10_000 });
      expect(await other.locator('#invariants-state').textContent()).toBe('the observer service is not answering: the invariants need the observer');
      await other.close();
    } finally {
      await blind.proc.stop();
    }
  });
});
