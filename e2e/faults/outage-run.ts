import { randomUUID } from 'node:crypto';
import type { TestBroker } from '@troupe/testing';
import { expect } from 'vitest';
import { deadLetterRows, deadLetters, sql } from '../support/api';
import type { Service, System } from '../support/system';
import { checkInvariants, noViolations, stockLedger, streamOrders, type Placed } from './load';

/**
 * What the dependency-outage runs share: a short retry ladder (200 + 400 + 800 ms, so every outage
 * here outlasts it many times over), a poison message per run, and the invariants checked after.
 */
export const SHORT_LADDER = { RETRY_MAX_ATTEMPTS: '4', RETRY_BASE_DELAY_MS: '200' };
/** The whole ladder, 1.4 s: each outage below lasts at least five times as long. */
export const LADDER_MS = 200 + 400 + 800;

/** One unparseable OrderPlaced: payment must dead-letter it at once, outage or not. */
export async function injectPoison(broker: TestBroker): Promise<string> {
  const id = randomUUID();
  await broker.publish('order.events', Buffer.from(`{"id":"${id}", this is not json`), { messageId: id, type: 'OrderPlaced' });
  return id;
}

/**
 * Every order terminal with the right outcome, one charge and one notification each, stock
 * conserved, and the DLQs holding exactly the injected poison: no business message dead-lettered.
 */
export async function expectAllInvariants(system: System, broker: TestBroker, placed: Placed[], poison: string[]): Promise<Record<string, number>> {
  expect(await checkInvariants(system, placed)).toEqual(noViolations(placed.length));
  const seeded: Record<string, number> = { 'SKU-TSHIRT': 1_000_000, 'SKU-MUG': 1_000_000, 'SKU-HOODIE': 1_000_000, 'SKU-SOLDOUT': 0 };
  for (const line of await stockLedger(system)) {
    expect(line.available + line.reserved, `${line.sku} conserved`).toBe(seeded[line.sku]);
    expect(line.reserved, `${line.sku} reserved = Σ reservations`).toBe(line.inReservations);
  }
  const depths = await deadLetters(system, broker);
  expect(depths).toEqual({ order: 0, payment: poison.length, inventory: 0, notification: 0 });
  const dead = await deadLetterRows(system, 'payment');
  expect(dead.map((m) => m.id).sort()).toEqual([...poison].sort());
  expect(dead.every((m) => m.headers['x-troupe-dead-letter-reason'] === 'poison')).toBe(true);
  return depths;
}

/** When the last of `placed` reached its end (the order service's last update), epoch ms. */
export async function lastCompletion(system: System, placed: Placed[]): Promise<number> {
  const [row] = await sql<{ at: Date }>(system, 'order', 'SELECT max(updated_at) AS at FROM orders WHERE id = ANY($1::uuid[])', [placed.map((p) => p.orderId)]);
  return row!.at.getTime();
}

/** A one-line summary for the run's log: the figures an operator would want. */
export function report(run: string, figures: { placed: Placed[]; outageMs: number; depths: Record<string, number>; recoveryMs: number }): void {
  const byKind = figures.placed.reduce<Record<string, number>>((n, p) => ({ ...n, [p.kind]: (n[p.kind] ?? 0) + 1 }), {});
  console.log(
    `${run}: ${figures.placed.length} orders ${JSON.stringify(byKind)}, outage ${(figures.outageMs / 1000).toFixed(1)} s ` +
      `(ladder ${LADDER_MS / 1000} s), DLQs after ${JSON.stringify(figures.depths)}, last order done ${(figures.recoveryMs / 1000).toFixed(1)} s after the dependency returned`,
  );
}

/** What a dependent service's /readyz said while the dependency was away. */
export interface ReadyzWhileDown {
  status: number;
  body: { checks: { dependencies: Record<string, { up: boolean }> } };
}

/**
 * A stream of orders (10/s for 18 s) with a dependency taken away 3 s in for `outageMs`, and the
 * `watched` service's /readyz read halfway through the outage.
 */
export async function streamWithOutage(
  system: System,
  { outageMs, watched, takeAway, bringBack }: { outageMs: number; watched: Service; takeAway: () => Promise<void>; bringBack: () => Promise<void> },
): Promise<{ placed: Placed[]; downAt: number; returnedAt: number; readyzWhileDown: ReadyzWhileDown | undefined }> {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  let downAt = 0;
  let returnedAt = 0;
  let readyzWhileDown: ReadyzWhileDown | undefined;
  const placed = await streamOrders(system, { perSecond: 10, durationMs: 18_000 }, async () => {
    await sleep(3_000);
    await takeAway();
    downAt = Date.now();
    await sleep(outageMs / 2);
    const ready = await fetch(`${system.baseUrl(watched)}/readyz`);
    readyzWhileDown = { status: ready.status, body: (await ready.json()) as ReadyzWhileDown['body'] };
    await sleep(outageMs / 2);
    await bringBack();
    returnedAt = Date.now();
  });
  return { placed, downAt, returnedAt, readyzWhileDown };
}
