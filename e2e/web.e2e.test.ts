import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { failedAttemptListSchema, journeySchema, readinessSchema, webDeadLettersSchema, webFaultsSchema, webSettingsSchema, webStockSchema } from '@troupe/contracts';
import { anEvent } from '@troupe/testing';
import { placeOrder, reaches, sql } from './support/api';
import { browserAvailable, launch, screenshot } from './support/browser';
import { useSystem } from './support/hooks';
import { operatorHeaders, type ServiceProcess } from './support/system';
import { startWebFront } from './support/web-front';

// The page in a real headless Chromium, against the four services as real processes and the web
// front in between: what a person sees when they click.
const ADMIN_TOKEN = 'e2e-admin-token-0123456789';
const JAEGER = 'http://jaeger.example:16686';
// Retries back off as with the defaults (1, 2, 4, 8 s), so the page, which looks at an unfinished
// journey every second, shows them while they happen.
const env = useSystem('web', () => ({ ADMIN_TOKEN, RETRY_BASE_DELAY_MS: '1000' }));

describe.skipIf(!browserAvailable())('the page', () => {
  let browser: Browser;
  let page: Page;
  let web: { url: string; proc: ServiceProcess };

  beforeAll(async () => {
    web = await startWebFront(env.system, { ADMIN_TOKEN, JAEGER_UI_URL: JAEGER, MAILPIT_URL: 'http://mailpit.example:8025' });
    browser = await launch();
    page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    await page.goto(web.url);
    await page.getByRole('status').filter({ hasText: 'live' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await web?.proc.stop();
  });

  /** Clicks a path's button and returns the id of the order it placed (from the journey). */
  async function clickPath(name: string): Promise<string> {
    const before = await page.locator('#journey-id').textContent();
    await page.getByRole('button', { name }).click();
    await expect.poll(() => page.locator('#journey-id').textContent(), { timeout: 10_000 }).not.toBe(before);
    return (await page.locator('#journey-id').textContent()) ?? '';
  }

  const journeyStatus = () => page.locator('#journey-status').textContent();
  const events = () => page.locator('#timeline li[data-event]').evaluateAll((items) => items.map((i) => `${i.getAttribute('data-event')}@${i.querySelector('.svc')?.textContent}`));
  /** The timeline as it reads: events and failed attempts in time order. */
  const timeline = () =>
    page.locator('#timeline li:not(.waiting)').evaluateAll((items) =>
      items.map((i) => (i.hasAttribute('data-event') ? i.getAttribute('data-event') : `${i.getAttribute('data-outcome')} ${i.getAttribute('data-failed-attempt')}@${i.querySelector('.svc')?.textContent}`)),
    );
  const failedAttempts = () => page.locator('#timeline li[data-failed-attempt]');
  /** The card gateway's entries as the journey lists them: kind, outcome and idempotency key. */
  const gatewayEntries = () =>
    page.locator('#journey-gateway li[data-ledger-kind]').evaluateAll((items) =>
      items.map((i) => `${i.getAttribute('data-ledger-kind')} ${i.getAttribute('data-outcome')} ${i.querySelector('.meta')?.textContent?.match(/Idempotency-Key (\S+)/)?.[1]}`),
    );

  it('when "Paid and completed" is clicked, then the journey fills in hop by hop to COMPLETED, with the trace link and what the customer was told (without their address)', async () => {
    const orderId = await clickPath('Paid and completed');
    await expect.poll(journeyStatus, { timeout: 20_000 }).toBe('COMPLETED');
    await expect.poll(events, { timeout: 20_000 }).toEqual(['OrderPlaced@order', 'PaymentCompleted@payment', 'InventoryReserved@inventory', 'NotificationSent@notification']);
    const trace = await page.getByRole('link', { name: /Trace in Jaeger/ }).getAttribute('href');
    expect(trace).toMatch(new RegExp(`^${JAEGER}/trace/[0-9a-f]{32}$`));
    expect(await page.locator('#journey-notes .note-card .meta').textContent()).toMatch(/ORDER_CONFIRMED · by log ·/);
    expect(await page.locator('#journey-notes').textContent()).not.toContain('ada@example.com');
    expect(await page.getByRole('link', { name: /Mailpit/ }).first().getAttribute('href')).toBe('http://mailpit.example:8025');
    expect(await page.locator('#timeline li[data-event="InventoryReserved"] .times').textContent()).toMatch(/^\+\d+(\.\d+)? m?s since placed · \d+(\.\d+)? m?s after PaymentCompleted$/);
    // The list is the live feed's, refreshed once per poll interval: it catches up with the journey.
    const row = page.locator(`#order-list li[data-order-id="${orderId}"]`);
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 10_000 }).toBe('COMPLETED');
    await screenshot(page, 'page-completed');
  });

  it('when "Card declined" is clicked, then the journey ends CANCELLED after PaymentFailed from payment, and the gateway lists the declined charge', async () => {
    const orderId = await clickPath('Card declined');
    await expect.poll(events, { timeout: 20_000 }).toEqual(['OrderPlaced@order', 'PaymentFailed@payment', 'NotificationSent@notification']);
    expect(await journeyStatus()).toBe('CANCELLED');
    expect(await gatewayEntries()).toEqual([`charge declined ${orderId}`]);
    expect(await page.locator('#journey-gateway li').textContent()).toContain('card declined');
    expect(await page.locator('#journey-notes .meta').textContent()).toMatch(/PAYMENT_DECLINED · by log ·/);
  });

  it('when "Sold out, refunded" is clicked, then the journey shows the charge, the rejection and the refund, and ends CANCELLED', async () => {
    const orderId = await clickPath('Sold out, refunded');
    await expect.poll(events, { timeout: 20_000 }).toEqual([
      'OrderPlaced@order',
      'PaymentCompleted@payment',
      'InventoryRejected@inventory',
      'PaymentRefunded@payment',
      'NotificationSent@notification',
    ]);
    expect(await journeyStatus()).toBe('CANCELLED');
    expect(await page.locator('#journey-summary').textContent()).toMatch(/cancelled after .* · compensated/);
    // The gateway's own ledger: the charge under the order id, the refund under a key of its own.
    expect(await gatewayEntries()).toEqual([`charge approved ${orderId}`, `refund refunded refund:${orderId}`]);
    await screenshot(page, 'journey-sold-out-refunded');
  });

  it('when "Flaky gateway, retried" is clicked, then the journey shows the retries while they happen, and the order still ends COMPLETED, charged once', async () => {
    const orderId = await clickPath('Flaky gateway, retried');
    // The first charge fails at once; the next attempt waits a second: the page shows the retry
    // before the order has moved on.
    await failedAttempts().first().waitFor({ timeout: 10_000 });
    expect(await journeyStatus()).toBe('PENDING');
    expect(await page.locator('#timeline li.waiting').textContent()).toMatch(/^retrying: OrderPlaced attempt [23] in payment…$/);
    await expect.poll(journeyStatus, { timeout: 30_000 }).toBe('COMPLETED');
    await expect.poll(timeline, { timeout: 20_000 }).toEqual(['OrderPlaced', 'retried 1@payment', 'retried 2@payment', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']);
    const first = failedAttempts().first();
    expect(await first.locator('.event').textContent()).toBe('OrderPlaced: attempt 1 failed');
    expect(await first.locator('.times').textContent()).toMatch(/^\+\d+(\.\d+)? m?s since placed · retried in 1\.00 s$/);
    // Without the admin token the page says what kind of failure it was, not the error's text.
    expect(await first.locator('.reason').textContent()).toBe('TransientGatewayError');
    await screenshot(page, 'journey-flaky-retried');
    // Three calls to the gateway under one key, two of them 503: one charge in its ledger.
    expect(await gatewayEntries()).toEqual([`charge approved ${orderId}`]);
    expect(await sql(env.system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [orderId])).toEqual([{ status: 'CAPTURED' }]);
    await expect.poll(events, { timeout: 20_000 }).toEqual(['OrderPlaced@order', 'PaymentCompleted@payment', 'InventoryReserved@inventory', 'NotificationSent@notification']);
  });

  it('when an order is placed elsewhere, then it appears in the live list and its status changes there without a reload', async () => {
    const order = await placeOrder(env.system);
    const row = page.locator(`#order-list li[data-order-id="${order.orderId}"]`);
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.getAttribute('data-status'), { timeout: 20_000 }).toBe('COMPLETED');
    expect(await page.locator('#order-list li').first().getAttribute('data-order-id')).toBe(order.orderId);
  });

  it('when the free form has a bad quantity, then the order service\'s 400 naming the field is shown; the same Idempotency-Key twice replays', async () => {
    await page.getByText('Or write the order yourself').click();
    await page.getByLabel('Quantity').fill('0');
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => page.locator('#response-status').textContent()).toBe('HTTP 400');
    expect(await page.locator('#response-body').textContent()).toContain('items.0.quantity');

    await page.getByLabel('Quantity').fill('1');
    await page.getByLabel(/Idempotency-Key/).fill(`web-e2e-${Date.now()}`);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => page.locator('#response-status').textContent()).toMatch(/^HTTP 202 · Location: \/orders\//);
    await page.getByRole('button', { name: 'Place order' }).click();
    await expect.poll(() => page.locator('#response-status').textContent()).toMatch(/^HTTP 202 · Idempotent-Replayed: true/);
  });

  it('when the contracts are asked for, then the web front serves the checked-in AsyncAPI and OpenAPI documents', async () => {
    for (const name of ['asyncapi.json', 'openapi.json']) {
      const served = await fetch(`${web.url}/contracts/${name}`).then((r) => r.json());
      expect(served).toEqual(JSON.parse(readFileSync(join(__dirname, '..', 'docs', 'contracts', name), 'utf8')));
    }
    expect(await page.getByRole('link', { name: 'events (AsyncAPI 3)' }).getAttribute('href')).toBe('contracts/asyncapi.json');
  });

  it("when the web front's API answers, then each answer has the shape the OpenAPI document gives it (the zod schemas it is generated from)", async () => {
    const order = await placeOrder(env.system, { paymentMethod: { token: 'tok_flaky' } });
    await reaches(env.system, order.orderId, 'COMPLETED');
    const get = (path: string, admin = false) => fetch(`${web.url}${path}`, admin ? { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } } : {}).then((r) => r.json());
    webSettingsSchema.parse(await get('/api/settings'));
    webStockSchema.parse(await get('/api/stock'));
    webFaultsSchema.parse(await get('/api/admin/faults', true));
    webDeadLettersSchema.parse(await get('/api/admin/dead-letters', true));
    readinessSchema.parse(await get('/readyz'));
    const publicJourney = journeySchema.parse(await get(`/api/orders/${order.orderId}/journey`));
    const adminJourney = journeySchema.parse(await get(`/api/orders/${order.orderId}/journey`, true));
    // The page shows retries to whoever reaches it; the error's text only to an admin.
    expect(publicJourney.failedAttempts.map((f) => [f.service, f.attempt, f.outcome, f.errorName, f.error])).toEqual([
      ['payment', 1, 'retried', 'TransientGatewayError', undefined],
      ['payment', 2, 'retried', 'TransientGatewayError', undefined],
    ]);
    expect(adminJourney.failedAttempts.map((f) => f.error)).toEqual(['gateway timed out (simulated, attempt 1 of 3)', 'gateway timed out (simulated, attempt 2 of 3)']);
    expect(publicJourney.gatewayEntries.map((g) => [g.kind, g.idempotencyKey, g.outcome, g.amountCents])).toEqual([['charge', order.orderId, 'approved', order.total.amountCents]]);
    // The services' own record, which the journey is made of: an operator's read.
    const record = failedAttemptListSchema.parse(await fetch(`${env.system.baseUrl('payment')}/failed-attempts?orderId=${order.orderId}`, { headers: operatorHeaders }).then((r) => r.json()));
    expect(record.failedAttempts).toHaveLength(2);
    expect(await fetch(`${env.system.baseUrl('inventory')}/failed-attempts?orderId=nope`, { headers: operatorHeaders }).then((r) => r.status)).toBe(400);
  });

  it('when the stock panel shows, then it lists the catalogue from the inventory service', async () => {
    await expect.poll(() => page.locator('#stock-body tr').count()).toBe(4);
    expect(await page.locator('#stock-body tr[data-sku="SKU-SOLDOUT"] td').nth(1).textContent()).toBe('0');
  });

  it('when a wrong admin token is typed, then the dead letters stay locked', async () => {
    await page.getByLabel('Admin token').fill('not-the-token-at-all');
    await page.getByRole('button', { name: 'Unlock' }).click();
    await expect.poll(() => page.locator('#unlock-error').textContent()).toBe('That token was refused.');
    const direct = await fetch(`${web.url}/api/admin/dead-letters`);
    expect(direct.status).toBe(401);
  });

  it('when a message is dead-lettered, then the page lists it with its reason, and Replay sends it back to its queue', async () => {
    // An OrderPlaced that breaks its contract: the payment service dead-letters it at once.
    const poison = anEvent('OrderPlaced', { data: { total: { amountCents: -1, currency: 'nope' } } as never });
    await env.broker.publish('order.events', poison, { messageId: poison.id, type: 'OrderPlaced' });

    await page.getByLabel('Admin token').fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Unlock' }).click();
    const payment = page.locator('section.dlq-service[data-service="payment"]');
    const item = payment.locator(`li[data-dead-letter="${poison.id}"]`);
    await expect
      .poll(async () => {
        await page.locator('#dlq-refresh').click();
        return item.count();
      }, { timeout: 15_000 })
      .toBe(1);
    expect(await item.locator('.meta').textContent()).toMatch(/1 attempt · order /);
    await screenshot(page, 'operations-dead-letter');

    await item.getByRole('button', { name: /^Replay/ }).click();
    // Still breaking its contract, it is dead-lettered again, now counted as replayed once.
    await expect
      .poll(async () => {
        await page.locator('#dlq-refresh').click();
        return item.locator('.meta').textContent().catch(() => '');
      }, { timeout: 15_000 })
      .toMatch(/replayed 1×/);
  });

  it('when the gateway failure rate is switched to 100%, then the journey shows the charge retried then dead-lettered; switched off and replayed from the journey, the order completes', async () => {
    const gateway = page.locator('form.fault-form[data-service="gateway"]');
    await gateway.getByLabel('Gateway failure rate (%)').fill('100');
    await gateway.getByRole('button', { name: 'Apply to gateway' }).click();
    await expect.poll(() => gateway.locator('.fault.on').count()).toBe(1);

    const orderId = await clickPath('Paid and completed');
    const dead = page.locator('#journey-dead-list li');
    // Retries first, each with its reason (the admin token is in, so the error's text shows) ...
    await failedAttempts().first().waitFor({ timeout: 10_000 });
    expect(await dead.count()).toBe(0);
    expect(await failedAttempts().first().locator('.reason').textContent()).toBe('TransientGatewayError: gateway unavailable (fault switch gatewayFailureRate)');
    // ... then, RETRY_MAX_ATTEMPTS being 5 (the default), after four retries with backoff, the dead-letter queue.
    await expect.poll(() => dead.locator('.meta').textContent().catch(() => ''), { timeout: 40_000 }).toBe(`5 attempts · order ${orderId.slice(0, 8)}`);
    await expect.poll(timeline, { timeout: 10_000 }).toEqual(['OrderPlaced', 'retried 1@payment', 'retried 2@payment', 'retried 3@payment', 'retried 4@payment', 'dead-lettered 5@payment']);
    expect(await failedAttempts().last().locator('.times').textContent()).toMatch(/ · dead-lettered to payment\.dlq \(exhausted\)$/);
    expect(await dead.locator('.reason').textContent()).toContain('fault switch gatewayFailureRate');
    expect(await page.locator('#journey-gateway').textContent()).toBe('Nothing charged yet.');
    expect(await events()).toEqual(['OrderPlaced@order']);
    expect(await page.locator('#timeline li.waiting').textContent()).toBe('stopped: a message is in a dead-letter queue');
    expect(await journeyStatus()).toBe('PENDING');
    await screenshot(page, 'journey-dead-lettered');

    await gateway.getByRole('button', { name: 'All off' }).click();
    await expect.poll(() => gateway.locator('.fault.on').count()).toBe(0);
    await dead.getByRole('button', { name: /^Replay/ }).click();
    await expect.poll(journeyStatus, { timeout: 20_000 }).toBe('COMPLETED');
    await expect.poll(events, { timeout: 20_000 }).toEqual(['OrderPlaced@order', 'PaymentCompleted@payment', 'InventoryReserved@inventory', 'NotificationSent@notification']);
    expect(await dead.count()).toBe(0);
    // The failed attempts stay in the story, before the replay that completed it.
    expect(await timeline()).toEqual(['OrderPlaced', 'retried 1@payment', 'retried 2@payment', 'retried 3@payment', 'retried 4@payment', 'dead-lettered 5@payment', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent']);
    expect(await sql(env.system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [orderId])).toEqual([{ status: 'CAPTURED' }]);
  });

  it('when two orders fail alike at the gateway, then the page shows one failure group of 2; replayed while it still fails it comes back replayed once, and replayed once mended it is gone', async () => {
    const gateway = page.locator('form.fault-form[data-service="gateway"]');
    await gateway.getByLabel('Gateway failure rate (%)').fill('100');
    await gateway.getByRole('button', { name: 'Apply to gateway' }).click();
    await expect.poll(() => gateway.locator('.fault.on').count()).toBe(1);
    const orders = await Promise.all([placeOrder(env.system), placeOrder(env.system)]);

    const groups = page.locator('section.dlq-service[data-service="payment"] ul.dead-groups li');
    const group = groups.filter({ hasText: 'TransientGatewayError' });
    /** The group as the page shows it: count, type, class, message and the replay count, once it reads `wanted`. */
    const groupReads = (wanted: RegExp) =>
      expect
        .poll(async () => {
          await page.locator('#dlq-refresh').click();
          return group.evaluateAll((items) => items.map((i) => [i.querySelector('.count')?.textContent, i.querySelector('strong')?.textContent, i.querySelector('.class')?.textContent, i.querySelector('.reason')?.textContent, i.querySelector('.meta')?.textContent].join(' | ')));
        }, { timeout: 45_000, interval: 500 })
        .toEqual([expect.stringMatching(wanted)]);
    // Both orders, after five attempts each (four retries with backoff), in one group.
    await groupReads(/^2× \| OrderPlaced \| TransientGatewayError \| gateway unavailable \(fault switch gatewayFailureRate\) \| first .* · last .* ago$/);
    expect(await group.locator('details.sample summary').textContent()).toMatch(new RegExp(`order (${orders.map((o) => o.orderId.slice(0, 8)).join('|')})`));

    // Replayed while the gateway still fails: both fail again, and come back into the same group, replayed once.
    const id = await group.getAttribute('data-group');
    await group.getByRole('button', { name: /^Replay group/ }).click();
    await groupReads(/^2× \| OrderPlaced \| TransientGatewayError \| .* · replayed 1×$/);
    expect(await group.getAttribute('data-group')).toBe(id);
    // The newest letter, body included, stays open while the panel refreshes.
    await group.locator('details.sample summary').click();
    await page.locator('#dlq-refresh').click();
    await expect.poll(() => group.locator('details.sample pre').textContent({ timeout: 2000 }).catch(() => '')).toMatch(/"type":\s*"OrderPlaced"/);
    expect(await group.locator('details.sample pre').isVisible()).toBe(true);
    await screenshot(page, 'dlq-groups');

    // Mended and replayed: the group is gone and both orders complete.
    await gateway.getByRole('button', { name: 'All off' }).click();
    await expect.poll(() => gateway.locator('.fault.on').count()).toBe(0);
    await group.getByRole('button', { name: /^Replay group/ }).click();
    await expect
      .poll(async () => {
        await page.locator('#dlq-refresh').click();
        return page.locator(`li[data-group="${id}"]`).count();
      }, { timeout: 15_000 })
      .toBe(0);
    for (const order of orders) await reaches(env.system, order.orderId, 'COMPLETED');
  });

  it('when a fault value is out of range, then the page says which switch and why, and nothing changes', async () => {
    const inventory = page.locator('form.fault-form[data-service="inventory"]');
    await inventory.getByLabel('Reservation slowness (ms)').fill('99999');
    await inventory.getByRole('button', { name: 'Apply to inventory' }).click();
    await expect.poll(() => inventory.locator('.fault-status').textContent()).toMatch(/^Reservation slowness: /);
    const flags = await fetch(`${env.system.baseUrl('inventory')}/admin/faults`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } }).then((r) => r.json());
    expect(flags).toMatchObject({ flags: { inventorySlownessMs: { value: 0 } } });
    await screenshot(page, 'operations');
  });

  it('when the web front has no admin token, then neither the page nor its API offers dead letters or fault switches', async () => {
    const bare = await startWebFront(env.system);
    try {
      for (const path of ['/api/admin/dead-letters', '/api/admin/faults']) expect((await fetch(`${bare.url}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status).toBe(404);
      const other = await browser.newPage();
      await other.goto(bare.url);
      await other.locator('#ops-off').waitFor();
      expect(await other.locator('#unlock').isHidden()).toBe(true);
      await other.close();
    } finally {
      await bare.proc.stop();
    }
  });
});
