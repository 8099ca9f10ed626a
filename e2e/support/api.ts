import { deadLetterQueueOf, type GatewayEntry, type NotificationList, type OrderRequest, type OrderStatus, type OrderView, type StockLevel } from '@troupe/contracts';
import { anOrderRequest, eventually, query, type TestBroker } from '@troupe/testing';
import { operatorHeaders, SERVICES, type Process, type Service, type System } from './system';

/** The public HTTP API (docs/design.md "HTTP API"), as a customer (or an operator) would call it. */

/** Where the services answer: processes (System) or containers. */
export interface Endpoints {
  baseUrl(service: Service): string;
}

const TERMINAL: readonly OrderStatus[] = ['COMPLETED', 'CANCELLED'];

async function getJson<T>(system: Endpoints, service: Service, path: string): Promise<T> {
  const response = await fetch(`${system.baseUrl(service)}${path}`, { signal: AbortSignal.timeout(5000) });
  if (!response.ok) throw new Error(`GET ${service}${path}: ${response.status} ${await response.text()}`);
  return (await response.json()) as T;
}

/** POST /orders; fails the test unless it is 202 Accepted. */
export async function placeOrder(system: Endpoints, overrides: Partial<OrderRequest> = {}): Promise<OrderView> {
  const response = await fetch(`${system.baseUrl('order')}/orders`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(anOrderRequest(overrides)),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  if (response.status !== 202) throw new Error(`POST /orders: ${response.status} ${text}`);
  const order = JSON.parse(text) as OrderView;
  if (response.headers.get('location') !== `/orders/${order.orderId}`) {
    throw new Error(`POST /orders: Location ${response.headers.get('location')} for order ${order.orderId}`);
  }
  return order;
}

export const getOrder = (system: Endpoints, orderId: string) => getJson<OrderView>(system, 'order', `/orders/${orderId}`);

export const getStock = (system: System, sku: string) => getJson<StockLevel>(system, 'inventory', `/stock/${sku}`);

export const getNotifications = async (system: System, orderId: string) =>
  (await getJson<NotificationList>(system, 'notification', `/notifications?orderId=${orderId}`))
    .notifications;

/** The card gateway's ledger for the order (an operator's read): every charge and refund, oldest first. */
export async function gatewayLedger(system: Pick<System, 'baseUrl'>, orderId: string): Promise<GatewayEntry[]> {
  const response = await fetch(`${system.baseUrl('gateway')}/ledger?orderId=${orderId}`, { headers: operatorHeaders, signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET /ledger on the gateway: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { entries: GatewayEntry[] }).entries;
}

/** The ledger as [kind, idempotency key, outcome], for exact comparisons. */
export const ledgerLines = async (system: Pick<System, 'baseUrl'>, orderId: string) =>
  (await gatewayLedger(system, orderId)).map((e) => [e.kind, e.idempotencyKey, e.outcome]);

export const historyTypes = (order: OrderView): string[] => order.history.map((h) => h.type);

/**
 * Waits until the order has run its course: a terminal status, the customer told (the
 * NotificationSent of the outcome is in its history — for a cancellation it lands after the status
 * changed) and, when given, `events` events in its history. The order service follows three
 * queues independently, so it may record NotificationSent before the InventoryReserved that
 * caused it (docs/design.md "Order statuses": events may arrive out of order); waiting for the
 * count keeps exact history assertions free of that race.
 */
export function settled(system: System, orderId: string, { events, timeoutMs = 30_000 }: { events?: number; timeoutMs?: number } = {}): Promise<OrderView> {
  return eventually(
    async () => {
      const order = await getOrder(system, orderId);
      const done =
        TERMINAL.includes(order.status) &&
        historyTypes(order).includes('NotificationSent') &&
        (events === undefined || order.history.length >= events);
      if (!done) throw new Error(`${order.status}, history ${JSON.stringify(historyTypes(order))}`);
      return order;
    },
    { timeoutMs, intervalMs: 100, what: `order ${orderId} to settle${events === undefined ? '' : ` with ${events} events`}` },
  );
}

/** Waits until GET /orders/{id} reports `status`. */
export function reaches(system: Endpoints, orderId: string, status: OrderStatus, timeoutMs = 30_000): Promise<OrderView> {
  return eventually(
    async () => {
      const order = await getOrder(system, orderId);
      return order.status === status ? order : undefined;
    },
    { timeoutMs, intervalMs: 100, what: `order ${orderId} to be ${status}` },
  );
}

/** Runs one query against a service's own database (or the gateway's). */
export function sql<R extends Record<string, unknown> = Record<string, unknown>>(
  system: System,
  service: Process,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  return query<R>(system.databaseUrl(service), text, values);
}

const rank: Record<OrderStatus, number> = { PENDING: 0, PAID: 1, RESERVED: 2, COMPLETED: 3, CANCELLED: 3 };

/**
 * Polls GET /orders/{id} in the background and records every status it reports, until stopped;
 * `backwards` lists each report lower than (or, once terminal, different from) one seen before.
 */
export function watchStatuses(system: System, orderId: string, intervalMs = 20) {
  const seen: OrderStatus[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const order = await getOrder(system, orderId).catch(() => undefined);
      if (order && seen.at(-1) !== order.status) seen.push(order.status);
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  })();
  return {
    /** The statuses reported, consecutive repeats collapsed. */
    seen,
    async stop(): Promise<OrderStatus[]> {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** Each pair (earlier, later) of reports where the status moved backwards or left a terminal state. */
export function backwardMoves(statuses: readonly OrderStatus[]): string[] {
  const moves: string[] = [];
  let highest: OrderStatus | undefined;
  for (const status of statuses) {
    if (highest !== undefined) {
      const terminal = TERMINAL.includes(highest);
      if (rank[status] < rank[highest] || (terminal && status !== highest)) moves.push(`${highest} → ${status}`);
    }
    if (highest === undefined || rank[status] > rank[highest]) highest = status;
  }
  return moves;
}

/**
 * Each service's dead letters (all zero when nothing went wrong), counted where they are kept, in
 * its database, once its DLQ is empty and it has kept as many as it dead-lettered (a message the
 * keeper has taken but not yet written is neither in the queue's depth nor in the table).
 */
export async function deadLetters(system: System, broker: TestBroker): Promise<Record<Service, number>> {
  const total = (metrics: string, name: string) =>
    [...metrics.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\d+)`, 'gm'))].reduce((sum, m) => sum + Number(m[1]), 0);
  await eventually(
    async () => {
      const depths = await Promise.all(SERVICES.map((s) => broker.depth(deadLetterQueueOf(s))));
      if (depths.some((n) => n > 0)) return false;
      // A service not running (killed by a fault test) has nothing in hand.
      const metrics = await Promise.all(SERVICES.map((s) => fetch(`${system.baseUrl(s)}/metrics`).then((r) => r.text(), () => '')));
      return metrics.every((text) => total(text, 'troupe_dead_letters_kept_total') >= total(text, 'troupe_messages_dead_lettered_total'));
    },
    { what: 'every DLQ emptied into its service database' },
  );
  const counts = await Promise.all(SERVICES.map(async (s) => (await deadLetterRows(system, s)).length));
  return Object.fromEntries(SERVICES.map((s, i) => [s, counts[i]])) as Record<Service, number>;
}

/** One service's dead letters as it keeps them: the event id and the message's headers. */
export async function deadLetterRows(system: System, service: Service): Promise<{ id: string; headers: Record<string, unknown> }[]> {
  const rows = await sql<{ id: string; headers: Record<string, unknown> | null }>(
    system,
    service,
    "SELECT id, properties->'headers' AS headers FROM troupe_dead_letters ORDER BY dead_lettered_at, id",
  );
  return rows.map((row) => ({ id: row.id, headers: row.headers ?? {} }));
}
