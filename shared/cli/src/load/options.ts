import { parseArgs } from 'node:util';
import { z } from 'zod';
import { UsageError } from '../usage-error';
import { PATH_NAMES, type PathName } from './paths';

export const LOAD_USAGE = `usage: troupe load [--rate N | --concurrency N] [--duration 30s | --count N] [options]

  --rate N           orders placed per second, whatever the system's pace
  --concurrency N    orders in flight at once: each waits for its order to settle (default 10)
  --duration D       keep placing for this long (e.g. 30s, 2m)
  --count N          place this many orders (default 100 unless --duration)
  --mix M            path weights, e.g. paid=70,declined=10,soldout=10,flaky=10 (the default)
  --timeout D        longest wait for an order to settle before it counts as timed out (default 60s)
  --url URL          the order service (default $ORDER_URL or http://127.0.0.1:3000)
  --json             print the summary as one JSON line instead of a table

Paths: paid (COMPLETED), declined (CANCELLED), soldout (charged, refunded, CANCELLED), flaky (retried, COMPLETED).`;

export interface LoadOptions {
  url: string;
  mode: { rate: number } | { concurrency: number };
  stop: { durationMs: number } | { count: number };
  mix: Partial<Record<PathName, number>>;
  timeoutMs: number;
  json: boolean;
}

const duration = (flag: string) =>
  z.string().transform((value, ctx) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value);
    const ms = match ? Number(match[1]) * ({ ms: 1, s: 1000, m: 60_000 } as const)[(match[2] ?? 's') as 'ms' | 's' | 'm'] : NaN;
    if (!(ms >= 100 && ms <= 86_400_000)) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be a duration between 100ms and 24h, like 30s or 2m (got "${value}")` });
      return z.NEVER;
    }
    return ms;
  });
const positive = (flag: string, max: number) =>
  z.string().transform((value, ctx) => {
    const n = Number(value);
    if (!/^\d+(\.\d+)?$/.test(value) || !(n > 0 && n <= max)) {
      ctx.addIssue({ code: 'custom', message: `${flag} must be a number above 0 and at most ${max} (got "${value}")` });
      return z.NEVER;
    }
    return n;
  });
const integer = (flag: string, max: number) =>
  positive(flag, max).refine(Number.isInteger, `${flag} must be a whole number`);
const mix = z.string().transform((value, ctx) => {
  const weights: Partial<Record<PathName, number>> = {};
  for (const part of value.split(',')) {
    const [name, weight] = part.split('=');
    if (!PATH_NAMES.includes(name as PathName) || !/^\d+(\.\d+)?$/.test(weight ?? '')) {
      ctx.addIssue({ code: 'custom', message: `--mix must be path=weight pairs (paths: ${PATH_NAMES.join(', ')}), like paid=70,declined=30 (got "${part}")` });
      return z.NEVER;
    }
    weights[name as PathName] = Number(weight);
  }
  if (!Object.values(weights).some((w) => (w ?? 0) > 0)) {
    ctx.addIssue({ code: 'custom', message: '--mix needs at least one weight above 0' });
    return z.NEVER;
  }
  return weights;
});
const url = z.string().refine((value) => {
  try {
    return /^https?:$/.test(new URL(value).protocol);
  } catch {
    return false;
  }
}, '--url (or ORDER_URL) must be an http(s) URL like http://127.0.0.1:3000');

/** Reads `troupe load`'s flags (and ORDER_URL); a bad one is a UsageError naming it. */
export function parseLoadOptions(argv: string[], env: NodeJS.ProcessEnv = process.env): LoadOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        rate: { type: 'string' },
        concurrency: { type: 'string' },
        duration: { type: 'string' },
        count: { type: 'string' },
        mix: { type: 'string', default: 'paid=70,declined=10,soldout=10,flaky=10' },
        timeout: { type: 'string', default: '60s' },
        url: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${LOAD_USAGE}`);
  }
  if (values.help) throw new UsageError(LOAD_USAGE);
  if (values.rate !== undefined && values.concurrency !== undefined) throw new UsageError(`give --rate or --concurrency, not both\n\n${LOAD_USAGE}`);
  if (values.duration !== undefined && values.count !== undefined) throw new UsageError(`give --duration or --count, not both\n\n${LOAD_USAGE}`);

  const check = <T>(schema: z.ZodType<T>, value: unknown, name: string): T => {
    const parsed = schema.safeParse(value);
    if (!parsed.success) throw new UsageError(`${parsed.error.issues[0]?.message ?? `${name} is invalid`}`);
    return parsed.data;
  };
  const target = values.url ?? env.ORDER_URL ?? 'http://127.0.0.1:3000';
  return {
    url: check(url, target, '--url').replace(/\/+$/, ''),
    mode: values.rate !== undefined ? { rate: check(positive('--rate', 10_000), values.rate, '--rate') } : { concurrency: check(integer('--concurrency', 1000), values.concurrency ?? '10', '--concurrency') },
    stop: values.duration !== undefined ? { durationMs: check(duration('--duration'), values.duration, '--duration') } : { count: check(integer('--count', 10_000_000), values.count ?? '100', '--count') },
    mix: check(mix, values.mix, '--mix'),
    timeoutMs: check(duration('--timeout'), values.timeout, '--timeout'),
    json: values.json,
  };
}
