import type { OrderView as ContractOrderView } from '@troupe/contracts';
import type { LoadOptions } from './options';
import { orderRequest, pathPicker, PATHS, type PathName } from './paths';
import { formatTable, summarize, type OrderResult } from './stats';

interface Tracked {
  path: PathName;
  deadline: number;
  resolve: (outcome: OrderResult) => void;
}

type OrderView = Pick<ContractOrderView, 'status' | 'createdAt' | 'history'>;

const POLL_MS = 200;
const POLL_PARALLEL = 16;

export interface LoadReport {
  summary: ReturnType<typeof summarize>;
  elapsedMs: number;
  ok: boolean;
}

/**
 * Places orders through POST /orders as the options say and follows each to the end: a final
 * status and the customer told. Placed → settled is measured on the services' clocks (the order's
 * createdAt to the last event of its history), so the load generator's polling adds nothing to it.
 */
export async function runLoad(options: LoadOptions, io: { progress: NodeJS.WriteStream | NodeJS.WritableStream; isTTY: boolean }): Promise<LoadReport> {
  const pick = pathPicker(options.mix);
  const tracked = new Map<string, Tracked>();
  const outcomes: OrderResult[] = [];
  const started = Date.now();
  let sent = 0;
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(130);
    stopping = true;
    io.progress.write('\nstopping: no new orders; waiting for those in flight (Ctrl-C again to quit now)\n');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const moreToSend = () =>
    !stopping && ('count' in options.stop ? sent < options.stop.count : Date.now() - started < options.stop.durationMs);

  const placeOne = async (): Promise<void> => {
    const n = ++sent;
    const path = pick();
    const outcome = await place(options, path, n, tracked);
    outcomes.push(outcome);
  };

  const poller = setInterval(() => void poll(options, tracked), POLL_MS);
  const progress = setInterval(() => report(false), io.isTTY ? 500 : 5000);
  const report = (final: boolean) => {
    const settled = outcomes.length;
    const errors = outcomes.filter((o) => o.kind !== 'settled' || !o.expected).length;
    const seconds = (Date.now() - started) / 1000;
    const line = `sent ${sent} · settled ${settled} · in flight ${tracked.size} · errors ${errors} · ${(settled / Math.max(seconds, 0.001)).toFixed(1)} orders/s · ${seconds.toFixed(0)} s`;
    io.progress.write(io.isTTY ? `\r\x1b[2K${line}${final ? '\n' : ''}` : `${line}\n`);
  };

  try {
    if ('concurrency' in options.mode) {
      const workers = Array.from({ length: options.mode.concurrency }, async () => {
        while (moreToSend()) await placeOne();
      });
      await Promise.all(workers);
    } else {
      const interval = 1000 / options.mode.rate;
      const pending: Promise<void>[] = [];
      for (let k = 0; moreToSend(); k++) {
        pending.push(placeOne());
        const wait = started + (k + 1) * interval - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
      await Promise.all(pending);
    }
  } finally {
    clearInterval(poller);
    clearInterval(progress);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  report(true);
  const summary = summarize(outcomes);
  const { total } = summary;
  return { summary, elapsedMs: Date.now() - started, ok: total.errors + total.rejected + total.timedOut + total.unexpected === 0 };
}

async function place(options: LoadOptions, path: PathName, n: number, tracked: Map<string, Tracked>): Promise<OrderResult> {
  let response: Response;
  try {
    response = await fetch(`${options.url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(orderRequest(path, n)),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    return { path, kind: 'error', message: (error as Error).message };
  }
  const body = (await response.json().catch(() => ({}))) as { orderId?: string };
  if (response.status !== 202 || !body.orderId) return { path, kind: 'rejected', httpStatus: response.status };
  const orderId = body.orderId;
  return new Promise((resolve) => tracked.set(orderId, { path, deadline: Date.now() + options.timeoutMs, resolve }));
}

let polling = false;

/** One look at every order in flight (a few at a time), settling those that are done. */
async function poll(options: LoadOptions, tracked: Map<string, Tracked>): Promise<void> {
  if (polling) return;
  polling = true;
  try {
    const ids = [...tracked.keys()];
    for (let i = 0; i < ids.length; i += POLL_PARALLEL) {
      await Promise.all(ids.slice(i, i + POLL_PARALLEL).map((id) => check(options, id, tracked)));
    }
  } finally {
    polling = false;
  }
}

async function check(options: LoadOptions, orderId: string, tracked: Map<string, Tracked>): Promise<void> {
  const entry = tracked.get(orderId);
  if (!entry) return;
  const order = await fetch(`${options.url}/orders/${orderId}`, { signal: AbortSignal.timeout(5000) })
    .then((r) => (r.ok ? (r.json() as Promise<OrderView>) : undefined))
    .catch(() => undefined);
  const done = order && ['COMPLETED', 'CANCELLED'].includes(order.status) && order.history.some((h) => h.type === 'NotificationSent');
  if (order && done) {
    const last = Math.max(...order.history.map((h) => Date.parse(h.at)));
    tracked.delete(orderId);
    entry.resolve({ path: entry.path, kind: 'settled', status: order.status, expected: order.status === PATHS[entry.path].expected, ms: Math.max(0, last - Date.parse(order.createdAt)) });
  } else if (Date.now() > entry.deadline) {
    tracked.delete(orderId);
    entry.resolve({ path: entry.path, kind: 'timeout' });
  }
}

/** The final report: a table for people, or one JSON line. */
export function formatReport(report: LoadReport, json: boolean): string {
  if (json) return JSON.stringify({ elapsedMs: report.elapsedMs, ok: report.ok, ...report.summary });
  return `${formatTable(report.summary)}\n\nplaced → settled (final status, customer told), on the services' clocks; ${(report.elapsedMs / 1000).toFixed(1)} s in all`;
}
