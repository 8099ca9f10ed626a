import { PATH_NAMES, type PathName } from './paths';

/** How one order ended, as the load generator saw it. */
export type OrderResult =
  | { path: PathName; kind: 'settled'; status: string; expected: boolean; ms: number }
  | { path: PathName; kind: 'rejected'; httpStatus: number }
  | { path: PathName; kind: 'error'; message: string }
  | { path: PathName; kind: 'timeout' };

export interface PathSummary {
  path: PathName;
  sent: number;
  completed: number;
  cancelled: number;
  /** Ended in a status other than the path's own (a declined card that completed, say). */
  unexpected: number;
  rejected: number;
  errors: number;
  timedOut: number;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

/**
 * The nearest-rank percentile of ascending `sorted` (null when empty): the value at rank ⌈p% × n⌉,
 * the smallest with at least p% of the sample at or below it. `troupe load` and `make bench` both
 * report this one (exported as `@troupe/cli/stats`).
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

function summarizeOne(path: PathName | 'all', outcomes: OrderResult[]): Omit<PathSummary, 'path'> & { path: PathName | 'all' } {
  const settled = outcomes.filter((o): o is Extract<OrderResult, { kind: 'settled' }> => o.kind === 'settled');
  const times = settled.map((o) => o.ms).sort((a, b) => a - b);
  return {
    path,
    sent: outcomes.length,
    completed: settled.filter((o) => o.status === 'COMPLETED').length,
    cancelled: settled.filter((o) => o.status === 'CANCELLED').length,
    unexpected: settled.filter((o) => !o.expected).length,
    rejected: outcomes.filter((o) => o.kind === 'rejected').length,
    errors: outcomes.filter((o) => o.kind === 'error').length,
    timedOut: outcomes.filter((o) => o.kind === 'timeout').length,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    p99Ms: percentile(times, 99),
  };
}

/** One row per path that was sent, and a total. */
export function summarize(outcomes: OrderResult[]) {
  const rows = PATH_NAMES.map((path) => summarizeOne(path, outcomes.filter((o) => o.path === path))).filter((row) => row.sent > 0);
  return { paths: rows, total: summarizeOne('all', outcomes) };
}

const ms = (value: number | null) => (value === null ? '—' : value < 1000 ? `${Math.round(value)} ms` : `${(value / 1000).toFixed(2)} s`);

/** The summary as a table for people. */
export function formatTable(summary: ReturnType<typeof summarize>): string {
  const header = ['path', 'sent', 'completed', 'cancelled', 'unexpected', 'rejected', 'errors', 'timed out', 'p50', 'p95', 'p99'];
  const rows = [...summary.paths, summary.total].map((r) => [
    r.path,
    String(r.sent),
    String(r.completed),
    String(r.cancelled),
    String(r.unexpected),
    String(r.rejected),
    String(r.errors),
    String(r.timedOut),
    ms(r.p50Ms),
    ms(r.p95Ms),
    ms(r.p99Ms),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
