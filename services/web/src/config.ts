import { bearerToken, httpUrl, parseConfig, SERVICE_URLS } from '@troupe/platform';
import { z } from 'zod';

/** A link for the browser: unset takes `fallback`, an empty value switches the link off. */
const linkUrl = (example: string, fallback?: string) =>
  z
    .string()
    .optional()
    .transform((value, ctx) => {
      const raw = value ?? fallback;
      if (raw === undefined || raw === '') return undefined;
      const parsed = httpUrl(example).safeParse(raw);
      if (parsed.success) return parsed.data;
      ctx.addIssue({ code: 'custom', message: `must be an http(s) URL like ${example}, or empty for no link` });
      return z.NEVER;
    });

/** Every variable the web front reads, validated once at start-up (see its README). */
export const configSchema = z.object({
  /** HTTP port of the page (0: any free port). */
  PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  /** Interface to listen on: loopback by default; containers set 0.0.0.0. */
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /**
   * The four services' HTTP APIs, the only thing the web front talks to besides the observer, and
   * the card gateway's: its ledger (on each journey) and its fault switches.
   */
  ...SERVICE_URLS,
  /** The observer's HTTP API: the choreography map and the invariants, read with the operator token. */
  OBSERVER_URL: httpUrl('http://observer:3005').default('http://127.0.0.1:3005'),
  /**
   * The services' admin token. Set: the page offers dead letters and fault switches to whoever
   * types the same token; unset: neither exists, here or on the page.
   */
  ADMIN_TOKEN: bearerToken().optional(),
  /**
   * The services' read-only operator token (their OPERATOR_READ_TOKEN), sent server-side only,
   * never to the browser: the live list of orders, and each journey's failed attempts and
   * card-gateway ledger, are operators' reads (docs/decisions/0029). Unset: the page has none of
   * them, and start-up says so.
   */
  OPERATOR_READ_TOKEN: bearerToken().optional(),
  /** Jaeger's UI as the browser reaches it: each order links to `<JAEGER_UI_URL>/trace/<traceId>`. */
  JAEGER_UI_URL: linkUrl('http://localhost:16686', 'http://localhost:16686'),
  /** Mailpit's UI as the browser reaches it, where the customers' e-mails can be read. */
  MAILPIT_URL: linkUrl('http://localhost:8025'),
  /** How often the web front asks the order service for the latest orders, while a page listens. */
  POLL_INTERVAL_MS: z.coerce.number().int().min(100).max(60_000).default(500),
  /** How many of the latest orders the live list shows. */
  LIVE_ORDERS: z.coerce.number().int().min(1).max(100).default(25),
  /** Live lists streamed at once (GET /api/orders/stream); one more is refused with 503. */
  LIVE_STREAM_MAX_CLIENTS: z.coerce.number().int().min(1).max(10_000).default(100),
  /**
   * How often each live list gets a comment line, so proxies keep it open and a reader that
   * stopped reading is found: one still not drained a whole interval later is dropped.
   */
  LIVE_STREAM_HEARTBEAT_MS: z.coerce.number().int().min(100).max(300_000).default(15_000),
  /** Longest wait for a service's answer before the page is told it is unavailable. */
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
