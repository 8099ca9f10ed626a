import { randomUUID } from 'node:crypto';
import { anOrderRequest, eventually, type TestBroker } from '@troupe/testing';
import { expect } from 'vitest';
import type { System } from '../support/system';
import { deadLetters, sql } from '../support/api';

/** What kind of order was placed, and so how it must end. */
export type Kind = 'visa' | 'declined' | 'soldout' | 'flaky';

export interface Placed {
  orderId: string;
  kind: Kind;
  sku: string;
  quantity: number;
}

const kindOf = (i: number): Kind => (['declined', 'soldout', 'flaky'] as const)[i % 10] ?? 'visa';
const SKUS = ['SKU-TSHIRT', 'SKU-MUG', 'SKU-HOODIE'];

/**
 * A customer who does not give up: POSTs with an Idempotency-Key and, on any failure (service
 * down, connection reset, 5xx, 409), tries again with the same key until it gets its 202. A
 * request whose answer was lost therefore never creates a second order.
 */
async function placeUntilAccepted(orderUrl: string, i: number, deadline: number): Promise<Placed> {
  const kind = kindOf(i);
  const sku = kind === 'soldout' ? 'SKU-SOLDOUT' : SKUS[i % SKUS.length]!;
  const quantity = 1 + (i % 3);
  const body = JSON.stringify(
    anOrderRequest({
      customerId: `load-${i}`,
      items: [{ sku, quantity }],
      paymentMethod: { token: kind === 'declined' ? 'tok_declined' : kind === 'flaky' ? 'tok_flaky' : 'tok_visa' },
    }),
  );
  const key = randomUUID();
  const answers: string[] = [];
  for (;;) {
    try {
      const response = await fetch(`${orderUrl}/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'idempotency-key': key },
        body,
        signal: AbortSignal.timeout(5000),
      });
      if (response.status === 202) return { orderId: ((await response.json()) as { orderId: string }).orderId, kind, sku, quantity };
      if (response.status < 500 && response.status !== 409) throw new Error(`POST /orders: ${response.status} ${await response.text()}`);
      answers.push(`${response.status} ${(await response.text()).slice(0, 80)}`);
    } catch (error) {
      if (error instanceof Error && error.message.startsWith('POST /orders')) throw error;
      answers.push(String(error));
    }
    if (Date.now() > deadline) throw new Error(`order ${i} (key ${key}) not accepted before the deadline; ${answers.length} answers, the last: ${answers.slice(-3).join(' | ')}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/**
 * A stream of orders at `perSecond` for `durationMs` (bounded in count and time), while `faults`
 * run beside it; resolves with every order the system accepted. `orderUrl` (default: the order
 * service) may be a front for several order replicas.
 */
export async function streamOrders(
  system: System,
  { perSecond, durationMs, orderUrl = system.baseUrl('order') }: { perSecond: number; durationMs: number; orderUrl?: string },
  faults: () => Promise<void>,
): Promise<Placed[]> {
  const total = Math.round((perSecond * durationMs) / 1000);
  const deadline = Date.now() + durationMs + 60_000;
  const offset = Math.floor(Math.random() * 1_000_000);
  const placing: Promise<Placed>[] = [];
  const faulting = faults();
  for (let i = 0; i < total; i++) {
    placing.push(placeUntilAccepted(orderUrl, offset + i, deadline));
    await new Promise((resolve) => setTimeout(resolve, 1000 / perSecond));
  }
  const [placed] = await Promise.all([Promise.all(placing), faulting]);
  return placed;
}

const expected: Record<Kind, { status: string; payment: string; notification: string; reserved: boolean }> = {
  visa: { status: 'COMPLETED', payment: 'CAPTURED', notification: 'ORDER_CONFIRMED', reserved: true },
  flaky: { status: 'COMPLETED', payment: 'CAPTURED', notification: 'ORDER_CONFIRMED', reserved: true },
  declined: { status: 'CANCELLED', payment: 'DECLINED', notification: 'PAYMENT_DECLINED', reserved: false },
  soldout: { status: 'CANCELLED', payment: 'REFUNDED', notification: 'ORDER_CANCELLED_REFUNDED', reserved: false },
};

export interface Invariants {
  orders: number;
  notTerminal: string[];
  wrongStatus: string[];
  paymentsPerOrderNotOne: string[];
  wrongPayment: string[];
  notificationsPerOrderNotOne: string[];
  wrongReservation: string[];
  /** Orders whose charges and refunds in the card gateway's own ledger are not exactly as their kind says. */
  gatewayLedgerWrong: string[];
}

/** What `checkInvariants` returns when all is well. */
export const noViolations = (orders: number): Invariants => ({
  orders,
  notTerminal: [],
  wrongStatus: [],
  paymentsPerOrderNotOne: [],
  wrongPayment: [],
  notificationsPerOrderNotOne: [],
  wrongReservation: [],
  gatewayLedgerWrong: [],
});

/** One order's entries in the card gateway's ledger, counted. */
export interface LedgerCount {
  approved: number;
  declined: number;
  refunds: number;
}

/**
 * Charges and refunds per order, counted by the card gateway itself (its ledger, in its own
 * database): what the card holder would see, whatever the services recorded.
 */
export async function ledgerCounts(system: System, orderIds: readonly string[]): Promise<Map<string, LedgerCount>> {
  const rows = await sql<{ order_id: string; approved: number; declined: number; refunds: number }>(
    system,
    'gateway',
    `SELECT order_id,
            count(*) FILTER (WHERE kind = 'charge' AND outcome = 'approved')::int AS approved,
            count(*) FILTER (WHERE kind = 'charge' AND outcome = 'declined')::int AS declined,
            count(*) FILTER (WHERE kind = 'refund')::int AS refunds
       FROM ledger_entries WHERE order_id = ANY($1::text[]) GROUP BY order_id`,
    [orderIds],
  );
  const counts = new Map(orderIds.map((id) => [id, { approved: 0, declined: 0, refunds: 0 }]));
  for (const { order_id, ...count } of rows) counts.set(order_id, count);
  return counts;
}

/**
 * What the gateway must hold for each kind of order: every order reaches payment, so exactly one
 * charge each (declined for a declined card), and one refund for a sold-out order alone.
 */
const expectedLedger: Record<Kind, LedgerCount> = {
  visa: { approved: 1, declined: 0, refunds: 0 },
  flaky: { approved: 1, declined: 0, refunds: 0 },
  declined: { approved: 0, declined: 1, refunds: 0 },
  soldout: { approved: 1, declined: 0, refunds: 1 },
};

/** Each order whose ledger count differs from its kind's, with what the gateway holds. */
export function ledgerViolations(placed: readonly Placed[], counts: Map<string, LedgerCount>): string[] {
  return placed.flatMap((p) => {
    const got = counts.get(p.orderId) ?? { approved: 0, declined: 0, refunds: 0 };
    const want = expectedLedger[p.kind];
    const same = got.approved === want.approved && got.declined === want.declined && got.refunds === want.refunds;
    return same ? [] : [`${p.orderId} (${p.kind}): ${got.approved} approved, ${got.declined} declined, ${got.refunds} refunds`];
  });
}

/** The ledger's totals over `placed`, for a run's closing line. */
export function ledgerTotals(counts: Map<string, LedgerCount>): LedgerCount {
  return [...counts.values()].reduce((sum, c) => ({ approved: sum.approved + c.approved, declined: sum.declined + c.declined, refunds: sum.refunds + c.refunds }), {
    approved: 0,
    declined: 0,
    refunds: 0,
  });
}

/**
 * Waits until every accepted order is terminal and notified, then reads the four databases and
 * lists every order that breaks an invariant (all lists empty = all good).
 */
export async function checkInvariants(system: System, placed: readonly Placed[]): Promise<Invariants> {
  const ids = placed.map((p) => p.orderId);
  await eventually(
    async () => {
      const [row] = await sql<{ n: string }>(
        system,
        'notification',
        'SELECT count(DISTINCT order_id) AS n FROM notifications WHERE order_id = ANY($1::uuid[])',
        [ids],
      );
      const [done] = await sql<{ n: string }>(
        system,
        'order',
        `SELECT count(*) AS n FROM orders o WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'CANCELLED')
           AND EXISTS (SELECT 1 FROM order_history h WHERE h.order_id = o.id AND h.type = 'NotificationSent')`,
        [ids],
      );
      return Number(row?.n) === ids.length && Number(done?.n) === ids.length;
    },
    { timeoutMs: 120_000, intervalMs: 250, what: `all ${ids.length} orders terminal and notified` },
  ).catch(() => undefined); // report what is missing below rather than a bare timeout

  const byId = <R extends { order_id: string }>(rows: R[]) => {
    const map = new Map<string, R[]>();
    for (const row of rows) map.set(row.order_id, [...(map.get(row.order_id) ?? []), row]);
    return map;
  };
  const orders = new Map(
    (await sql<{ id: string; status: string }>(system, 'order', 'SELECT id, status FROM orders WHERE id = ANY($1::uuid[])', [ids])).map((r) => [r.id, r.status]),
  );
  const payments = byId(await sql<{ order_id: string; status: string }>(system, 'payment', 'SELECT order_id, status FROM payments WHERE order_id = ANY($1::uuid[])', [ids]));
  const notes = byId(await sql<{ order_id: string; kind: string }>(system, 'notification', 'SELECT order_id, kind FROM notifications WHERE order_id = ANY($1::uuid[])', [ids]));
  const reservations = byId(await sql<{ order_id: string }>(system, 'inventory', 'SELECT order_id FROM reservations WHERE order_id = ANY($1::uuid[])', [ids]));

  const result = noViolations(placed.length);
  for (const p of placed) {
    const want = expected[p.kind];
    const status = orders.get(p.orderId);
    if (status !== 'COMPLETED' && status !== 'CANCELLED') result.notTerminal.push(`${p.orderId} (${p.kind}): ${status}`);
    else if (status !== want.status) result.wrongStatus.push(`${p.orderId} (${p.kind}): ${status}`);
    const pay = payments.get(p.orderId) ?? [];
    if (pay.length !== 1) result.paymentsPerOrderNotOne.push(`${p.orderId} (${p.kind}): ${pay.length}`);
    else if (pay[0]!.status !== want.payment) result.wrongPayment.push(`${p.orderId} (${p.kind}): ${pay[0]!.status}`);
    const sent = notes.get(p.orderId) ?? [];
    if (sent.length !== 1 || sent[0]!.kind !== want.notification) {
      result.notificationsPerOrderNotOne.push(`${p.orderId} (${p.kind}): ${sent.map((n) => n.kind).join(',') || 'none'}`);
    }
    if ((reservations.get(p.orderId)?.length ?? 0) !== (want.reserved ? 1 : 0)) result.wrongReservation.push(`${p.orderId} (${p.kind})`);
  }
  result.gatewayLedgerWrong = ledgerViolations(placed, await ledgerCounts(system, ids));
  return result;
}

/** Stock conserved: for every SKU, what was seeded = available + reserved, and reserved = Σ reservations. */
export async function stockLedger(system: System): Promise<{ sku: string; available: number; reserved: number; inReservations: number }[]> {
  return sql(
    system,
    'inventory',
    `SELECT s.sku, s.available, s.reserved,
            COALESCE((SELECT sum((item->>'quantity')::int) FROM reservations r, jsonb_array_elements(r.items) item
                       WHERE item->>'sku' = s.sku), 0)::int AS "inReservations"
       FROM stock s ORDER BY s.sku`,
  );
}

const SEEDED: Record<string, number> = { 'SKU-TSHIRT': 1_000_000, 'SKU-MUG': 1_000_000, 'SKU-HOODIE': 1_000_000, 'SKU-SOLDOUT': 0 };

/**
 * Every invariant of a fault run: each order terminal with the right outcome, one charge (in
 * payment's database and in the gateway's ledger), a refund for a sold-out order alone, one
 * reservation per accepted line, one notification; stock conserved; the DLQs holding exactly the
 * poison injected (into payment's queue) and nothing else.
 */
export async function expectAllInvariants(system: System, broker: TestBroker, placed: readonly Placed[], poisonInjected: number): Promise<void> {
  const invariants = await checkInvariants(system, placed);
  expect(invariants).toEqual(noViolations(placed.length));
  for (const line of await stockLedger(system)) {
    expect(line.available + line.reserved, `${line.sku} conserved`).toBe(SEEDED[line.sku]);
    expect(line.reserved, `${line.sku} reserved = Σ reservations`).toBe(line.inReservations);
  }
  const dlqs = await deadLetters(system, broker);
  expect(dlqs).toEqual({ order: 0, payment: poisonInjected, inventory: 0, notification: 0 });
  const byKind = placed.reduce<Record<string, number>>((n, p) => ({ ...n, [p.kind]: (n[p.kind] ?? 0) + 1 }), {});
  const ledger = ledgerTotals(await ledgerCounts(system, placed.map((p) => p.orderId)));
  console.log(`invariants hold for ${placed.length} orders ${JSON.stringify(byKind)}; gateway ledger ${JSON.stringify(ledger)}; DLQs ${JSON.stringify(dlqs)}`);
}
