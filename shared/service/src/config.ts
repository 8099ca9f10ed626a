import { parseBrokerUrls } from '@troupe/messaging';
import { bearerToken, requiredOutsideDevelopment } from '@troupe/platform';
import { z } from 'zod';
import { DEFAULT_SERVER_TIMEOUTS, QUERY_TIMEOUT_MS, type ServerTimeouts } from './db';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** The broker, or every node of a cluster as comma-separated URLs. Required outside development. */
const brokerUrls = () =>
  requiredOutsideDevelopment('amqp://guest:guest@localhost:5672', (variable) =>
    variable.superRefine((value, ctx) => {
      try {
        parseBrokerUrls(value);
      } catch (error) {
        ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (e.g. amqp://user:pass@host:5672 or a comma-separated list of them)` });
      }
    }),
  );

/** `service`'s own Postgres database (the card gateway's too). Required outside development. */
export const databaseUrl = (service: string) =>
  requiredOutsideDevelopment(`postgres://postgres@localhost:5432/${service}`, (variable) =>
    variable.refine((value) => URL.canParse(value) && /^postgres(ql)?:$/.test(new URL(value).protocol), 'must be a URL like postgres://user:password@host:5432/db'),
  );

/**
 * The server's bounds on each database session (decision 0025); every pool reads them, the
 * gateway's included.
 */
export function databaseTimeouts() {
  return {
    /**
     * Postgres `statement_timeout`: the server cancels a statement running this long. Not below
     * the pool's own 10 s wait, which gives up first and makes the failure the database's (an
     * outage, decision 0009); this one ends what the server would otherwise go on running.
     */
    DATABASE_STATEMENT_TIMEOUT_MS: int(QUERY_TIMEOUT_MS, 3_600_000).default(DEFAULT_SERVER_TIMEOUTS.statementTimeoutMs),
    /**
     * Postgres `idle_in_transaction_session_timeout`: the server ends a session left this long
     * inside a transaction (its locks released). Above the longest outside call made inside one.
     */
    DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: int(1000, 3_600_000).default(DEFAULT_SERVER_TIMEOUTS.idleInTransactionTimeoutMs),
  };
}

/** The pool's `ServerTimeouts` from a config holding `databaseTimeouts()`. */
export const serverTimeoutsOf = (config: { DATABASE_STATEMENT_TIMEOUT_MS: number; DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number }): ServerTimeouts => ({
  statementTimeoutMs: config.DATABASE_STATEMENT_TIMEOUT_MS,
  idleInTransactionTimeoutMs: config.DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS,
});

/**
 * The variables every service reads (docs/configuration.md). Each service extends this with
 * its own keys in its `config.ts`.
 */
export function commonConfig(service: string, defaultPort: number) {
  return {
    /**
     * The broker, or every node of a cluster as comma-separated URLs (a service connects to any
     * live one and moves to another when it dies). Required outside development.
     */
    RABBITMQ_URL: brokerUrls(),
    /** This service's own Postgres database. Required outside development. */
    DATABASE_URL: databaseUrl(service),
    /** Connections in this service's Postgres pool. */
    DATABASE_POOL_SIZE: int(1, 100).default(20),
    ...databaseTimeouts(),
    /** HTTP port (0: any free port). */
    PORT: int(0, 65535).default(defaultPort),
    /** Interface to listen on: loopback by default; containers set 0.0.0.0. */
    HOST: z.string().min(1).default('127.0.0.1'),
    /** pino level. */
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    /** Unacked messages the broker may push to each consumer at once. */
    PREFETCH: int(1, 1000).default(50),
    /**
     * Message-handling transactions in flight at most; one order's messages stay in sequence.
     * A further one starts only when those running stall (CONSUMER_SPREAD_AFTER_MS). The order
     * service bounds the transactions its POST /orders requests share the same way.
     */
    CONSUMER_CONCURRENCY: int(1, 32).default(4),
    /**
     * How long the message-handling transactions running may all go without finishing a message
     * before another starts beside them (while fewer than CONSUMER_CONCURRENCY run). While they
     * move, one runs at a time, so batches grow and every per-batch cost is paid less often; a
     * slow commit, lock or outside call lets the other orders go on after this long
     * (docs/decisions/0018). 0: another starts at once.
     */
    CONSUMER_SPREAD_AFTER_MS: int(0, 60_000).default(50),
    /** Attempts (first delivery included) before a failing message goes to the dead-letter queue. */
    RETRY_MAX_ATTEMPTS: int(1, 20).default(5),
    /** Wait before the first retry; doubles at each attempt. */
    RETRY_BASE_DELAY_MS: int(10, 3_600_000).default(1000),
    /** Exit non-zero (so the orchestrator restarts us) after the broker is away this long. */
    RABBITMQ_GIVE_UP_AFTER_MS: int(1000, 86_400_000).default(300_000),
    /**
     * Longest wait for the broker's confirm of a publish. A broker that has not confirmed by then
     * (a resource alarm, a node that hangs) counts as away: publishing stalls until it confirms
     * again, and the events wait in the outbox (decision 0025).
     */
    RABBITMQ_CONFIRM_TIMEOUT_MS: int(100, 600_000).default(10_000),
    /**
     * Largest message body a consumer takes in; a bigger one is dead-lettered unread. Below the
     * broker's max_message_size (256 KiB, infra/rabbitmq/rabbitmq.conf): PREFETCH × this, for each
     * subscription, is what decoded messages may hold of the heap (decision 0025).
     */
    MAX_MESSAGE_BYTES: int(1024, 262_144).default(65_536),
    /** Bearer token for the /admin endpoints (dead-letter queue); unset = admin endpoints off. */
    ADMIN_TOKEN: bearerToken().optional(),
    /**
     * Bearer token for the operator's reads (GET /failed-attempts, the order list, personal
     * fields); ADMIN_TOKEN reads them too. Neither set: those reads are off (docs/decisions/0029).
     */
    OPERATOR_READ_TOKEN: bearerToken().optional(),
    /**
     * How long a processed event's inbox row is kept to recognise a redelivery; must outlast the
     * latest a copy can arrive, a dead letter's replay included (docs/design.md "Exactly-once effects").
     */
    INBOX_RETENTION_SECONDS: int(3600, 31_536_000).default(1_209_600),
    /** How often rows kept only for deduplication are pruned (one replica per database at a time). */
    PRUNE_INTERVAL_MS: int(1000, 86_400_000).default(60_000),
    /** Rows deleted per statement when pruning: small, so no batch holds its locks for long. */
    PRUNE_BATCH_SIZE: int(10, 100_000).default(1000),
    /** Longest graceful shutdown before the process is killed. */
    SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  };
}
