import { parseBrokerUrls } from '@troupe/messaging/broker';
import { bearerToken, parseConfig, requiredOutsideDevelopment, SERVICE_URLS } from '@troupe/platform';
import { z } from 'zod';

const ms = (min: number, max: number, fallback: number) => z.coerce.number().int().min(min).max(max).default(fallback);

/** Every variable the observer reads, validated once at start-up (see its README). */
export const configSchema = z.object({
  /** HTTP port (0: any free port). */
  PORT: z.coerce.number().int().min(0).max(65535).default(3005),
  /** Interface to listen on: loopback by default; containers set 0.0.0.0. */
  HOST: z.string().min(1).default('127.0.0.1'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** The broker, as the observer's own read-only user (`observerPermissions`). */
  RABBITMQ_URL: requiredOutsideDevelopment('amqp://guest:guest@localhost:5672', (variable) =>
    variable.superRefine((value, ctx) => {
      try {
        parseBrokerUrls(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (e.g. amqp://observer:pass@host:5672 or a comma-separated list of them)` });
      }
    }),
  ),
  /**
   * The AsyncAPI document the map is drawn from: who publishes what, who receives it through which
   * queue. Unset: troupe's own, as @troupe/contracts generates it (the same document as
   * docs/contracts/asyncapi.json, which a test keeps current), so no image has to carry the file.
   */
  ASYNCAPI_PATH: z.string().min(1).optional(),
  /** The four services' HTTP APIs and the card gateway's: /readyz, and the operator's reads. */
  ...SERVICE_URLS,
  /**
   * The services' read-only operator token: the observer sends it for the failed attempts, the
   * dead-letter counts and the ledger, and takes it (or ADMIN_TOKEN) for its own GET /map and
   * /invariants. Unset: those checks have nothing to go on, and start-up says so. The observer never
   * sends ADMIN_TOKEN in its place: it changes nothing in the services, so it holds no token that could.
   */
  OPERATOR_READ_TOKEN: bearerToken().optional(),
  /** Resolving a violation by hand (POST /admin/invariants/{id}/resolve) needs it; unset, the route does not exist. */
  ADMIN_TOKEN: bearerToken().optional(),
  /** How long an order stays in the window the invariants are checked over (in memory: a restart starts a new one). */
  OBSERVER_WINDOW_MS: ms(10_000, 24 * 3_600_000, 30 * 60_000),
  /**
   * Most orders in the window; the least recently active leave first. About 0.7 KB of heap an order
   * (four events; measured on Node 24): 50,000 take some 35 MB of the 160 MB heap its start script
   * allows. Raise it with the heap (`--max-old-space-size`) and the container's memory limit.
   */
  OBSERVER_MAX_ORDERS: z.coerce.number().int().min(100).max(1_000_000).default(50_000),
  /** An order must reach COMPLETED or CANCELLED this long after its OrderPlaced was seen (`order-settles`). */
  OBSERVER_SETTLE_WITHIN_MS: ms(100, 3_600_000, 60_000),
  /** A settled order's events are held to the rules (`events-consistent`) once they have had this long to arrive. */
  OBSERVER_CONSISTENCY_GRACE_MS: ms(0, 600_000, 5_000),
  /**
   * The longest an event takes from its commit to the observer's queue (outbox straight after the
   * commit): what `stock-matches` allows between a reservation in the inventory's database and its
   * InventoryReserved on the exchange.
   */
  OBSERVER_EVENT_LAG_MS: ms(50, 60_000, 2_000),
  /** How often a paid order's ledger is read again (`one-charge-per-paid-order`). */
  OBSERVER_LEDGER_RECHECK_MS: ms(100, 3_600_000, 60_000),
  /** How often the invariants are checked and the services read. */
  OBSERVER_CHECK_INTERVAL_MS: ms(50, 60_000, 1_000),
  /** Most reads of the services' operator APIs per check (failed attempts, ledgers, stock, orders): the observer's load on them. */
  OBSERVER_READS_PER_CHECK: z.coerce.number().int().min(1).max(1_000).default(20),
  /** A declared edge is silent when no message of its type was seen for this long while orders flowed. */
  OBSERVER_SILENCE_WINDOW_MS: ms(1_000, 24 * 3_600_000, 5 * 60_000),
  /** Orders placed within the silence window before silence counts. */
  OBSERVER_SILENCE_MIN_ORDERS: z.coerce.number().int().min(1).max(1_000_000).default(50),
  /** Messages kept in each of the observer's queues while it falls behind; the oldest are dropped first. */
  OBSERVER_QUEUE_MAX_LENGTH: z.coerce.number().int().min(10).max(1_000_000).default(10_000),
  /** Longest wait for a service's answer. */
  UPSTREAM_TIMEOUT_MS: ms(100, 60_000, 3_000),
  /** Unreachable this long, the broker is given up: the observer exits 1, for an orchestrator to restart it. */
  RABBITMQ_GIVE_UP_AFTER_MS: ms(1_000, 86_400_000, 300_000),
  SHUTDOWN_TIMEOUT_MS: ms(100, 600_000, 10_000),
})
  // An order leaves the window OBSERVER_WINDOW_MS after its latest event: a shorter window than the
  // time a rule waits before judging it would take every order away before it is ever judged.
  .superRefine((config, ctx) => {
    const needed = config.OBSERVER_SETTLE_WITHIN_MS + config.OBSERVER_CONSISTENCY_GRACE_MS + config.OBSERVER_CHECK_INTERVAL_MS;
    if (config.OBSERVER_WINDOW_MS > needed) return;
    ctx.addIssue({
      code: 'custom',
      path: ['OBSERVER_WINDOW_MS'],
      message: `must be longer than OBSERVER_SETTLE_WITHIN_MS + OBSERVER_CONSISTENCY_GRACE_MS + OBSERVER_CHECK_INTERVAL_MS (${needed} ms): an order would leave the window before order-settles or events-consistent could judge it`,
    });
  });

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
