import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { MIGRATIONS_DIR, Messaging, unavailableDependency, type Dependency, type RunUnitOfWork, type Subscription } from '@troupe/messaging';
import type { ServiceName } from '@troupe/contracts';
import { shutdownTelemetry } from '@troupe/telemetry';
import closeWithGrace from 'close-with-grace';
import type { Express } from 'express';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { adminGuard, closeServer, createHttpApp, createLogger, faultRoutes, listen, operatorReads, processMetrics, type Faults, type Readiness } from '@troupe/platform';
import { adminRoutes, deadLetterCountRoute } from './dead-letter-routes';
import { failedAttemptRoutes } from './failed-attempts';
import { serverTimeoutsOf } from './config';
import { createPool, migrate } from './db';
import { failedAttemptsPruning, inboxPruning, startPruning, type PruneTask } from './pruning';

/** The configuration every service has (see `commonConfig`). */
export interface BaseConfig {
  RABBITMQ_URL: string;
  DATABASE_URL: string;
  DATABASE_POOL_SIZE: number;
  PORT: number;
  HOST: string;
  LOG_LEVEL: string;
  PREFETCH: number;
  CONSUMER_CONCURRENCY: number;
  CONSUMER_SPREAD_AFTER_MS: number;
  RETRY_MAX_ATTEMPTS: number;
  RETRY_BASE_DELAY_MS: number;
  RABBITMQ_GIVE_UP_AFTER_MS: number;
  RABBITMQ_CONFIRM_TIMEOUT_MS: number;
  MAX_MESSAGE_BYTES: number;
  DATABASE_STATEMENT_TIMEOUT_MS: number;
  DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS: number;
  SHUTDOWN_TIMEOUT_MS: number;
  INBOX_RETENTION_SECONDS: number;
  PRUNE_INTERVAL_MS: number;
  PRUNE_BATCH_SIZE: number;
  ADMIN_TOKEN?: string | undefined;
  OPERATOR_READ_TOKEN?: string | undefined;
}

/** The shared infrastructure a service's own parts are built on. */
export interface BaseContext<C extends BaseConfig> {
  config: C;
  logger: Logger;
  pool: Pool;
  registry: Registry;
}

export interface ServiceContext<C extends BaseConfig> extends BaseContext<C> {
  messaging: Messaging;
}

/** A service's own parts: what it consumes and the routes it serves (besides health and metrics). */
export interface ServiceParts {
  subscriptions?: Subscription[];
  /** What handlers need besides the broker and the database, with a probe each (decision 0009). */
  dependencies?: Dependency[];
  /**
   * Most messages handled in one transaction (default `PREFETCH`). Small for a service whose
   * handlers each make a call outside the database: the transaction stays open for all of them,
   * one after the other, and must end within reach of that call's bound (decision 0025).
   */
  messagesPerTransaction?: number;
  /** The service's own routes, given the one capability of messaging a route may use. */
  routes?: (app: Express, capabilities: { runUnitOfWork: RunUnitOfWork }) => void;
  /** Fault switches, served at /admin/faults (only when ADMIN_TOKEN is set). */
  faults?: Faults;
  /** The service's own deduplication records to prune, besides the inbox. */
  pruning?: PruneTask[];
  /** The service's own part of a graceful stop: after HTTP has stopped, before the consumers do. */
  stop?: () => Promise<void>;
}

export interface ServiceSpec<C extends BaseConfig> {
  name: ServiceName;
  config: C;
  /** The service's own migrations folder (applied after the messaging library's). */
  migrationsDir: string;
  /** Largest JSON request body, in bytes (default 16 KiB). */
  bodyLimitBytes?: number;
  /** Builds the service's parts, once, from the shared infrastructure. */
  compose: (ctx: BaseContext<C>) => ServiceParts;
  logger?: Logger;
}

export interface RunningService<C extends BaseConfig> extends ServiceContext<C> {
  server: Server;
  /** The port actually bound (differs from config when PORT=0). */
  port: number;
  /** Graceful stop: HTTP first, then consumers (in-flight work finishes), relay, broker, database. */
  stop(): Promise<void>;
}

/**
 * Starts one service: database and migrations, messaging (consumers + outbox relay), HTTP.
 * The broker connects in the background: HTTP is up (and /readyz says what is missing) while it
 * does, and orders placed meanwhile wait in the outbox.
 */
export async function startService<C extends BaseConfig>(spec: ServiceSpec<C>): Promise<RunningService<C>> {
  const { config, name } = spec;
  const logger = spec.logger ?? createLogger(name, config.LOG_LEVEL);
  const registry = processMetrics(name);

  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE, logger, serverTimeoutsOf(config));
  await migrate(config.DATABASE_URL, [MIGRATIONS_DIR, spec.migrationsDir], logger);

  let fatal: ((error: Error) => void) | undefined;
  const parts = spec.compose({ config, logger, pool, registry });
  const messaging = new Messaging({
    service: name,
    url: config.RABBITMQ_URL,
    pool,
    logger,
    registry,
    subscriptions: parts.subscriptions ?? [],
    dependencies: parts.dependencies ?? [],
    prefetch: config.PREFETCH,
    ...(parts.messagesPerTransaction === undefined ? {} : { maxBatch: parts.messagesPerTransaction }),
    concurrency: config.CONSUMER_CONCURRENCY,
    spreadAfterMs: config.CONSUMER_SPREAD_AFTER_MS,
    retry: { maxAttempts: config.RETRY_MAX_ATTEMPTS, baseDelayMs: config.RETRY_BASE_DELAY_MS },
    giveUpAfterMs: config.RABBITMQ_GIVE_UP_AFTER_MS,
    confirmTimeoutMs: config.RABBITMQ_CONFIRM_TIMEOUT_MS,
    maxMessageBytes: config.MAX_MESSAGE_BYTES,
    onFatal: (error) => fatal?.(error),
  });
  const ctx: ServiceContext<C> = { config, logger, pool, registry, messaging };

  const app = createHttpApp({
    logger,
    registry,
    readiness: async () => readiness(await databaseUp(pool), messaging),
    // The outbox keeps what the service writes while the broker is away: its requests need only
    // its database (docs/decisions/0027).
    requestReadiness: async () => {
      const database = await databaseUp(pool);
      return { ready: database, checks: { database } };
    },
    unavailableDependency,
    ...(spec.bodyLimitBytes === undefined ? {} : { bodyLimitBytes: spec.bodyLimitBytes }),
    routes: (app) => {
      const reads = operatorReads(config);
      if (reads) {
        failedAttemptRoutes(app, messaging, reads.guard);
        deadLetterCountRoute(app, (work) => messaging.deadLetters(work), reads.guard);
      }
      if (config.ADMIN_TOKEN) {
        const guard = adminGuard(config.ADMIN_TOKEN);
        adminRoutes(app, (work) => messaging.deadLetters(work), guard);
        if (parts.faults) faultRoutes(app, parts.faults, guard);
      }
      parts.routes?.(app, { runUnitOfWork: messaging.runUnitOfWork });
    },
  });
  const server = await listen(app, config.PORT, config.HOST);
  await messaging.start();
  const pruning = startPruning({
    pool,
    logger,
    registry,
    tasks: [inboxPruning(config.INBOX_RETENTION_SECONDS), failedAttemptsPruning(config.INBOX_RETENTION_SECONDS), ...(parts.pruning ?? [])],
    intervalMs: config.PRUNE_INTERVAL_MS,
    batchSize: config.PRUNE_BATCH_SIZE,
  });
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.HOST }, `${name} service started`);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await closeServer(server, app);
      await parts.stop?.();
      await messaging.stop();
      await pruning.stop();
      await pool.end();
      logger.info(`${name} service stopped`);
      await shutdownTelemetry();
    })());
  fatal = (error) => {
    logger.fatal({ err: error.message }, 'unrecoverable; shutting down');
    process.exitCode = 1;
    void stop().finally(() => process.exit(1));
  };
  return { ...ctx, server, port, stop };
}

/** The database answers within 2 s. */
function databaseUp(pool: Pool): Promise<boolean> {
  return Promise.race([
    pool.query('SELECT 1').then(
      () => true,
      () => false,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
  ]);
}

function readiness(database: boolean, messaging: Messaging): Readiness {
  const { broker, brokerNode, dependencies, subscriptions } = messaging.status();
  const ready = database && broker && subscriptions.every((s) => s.consuming);
  return { ready, checks: { database, broker, brokerNode, dependencies, subscriptions } };
}

/**
 * The process side: SIGTERM/SIGINT (and a crash) trigger a graceful stop bounded by
 * `SHUTDOWN_TIMEOUT_MS`; a start-up failure logs and exits non-zero.
 */
export async function runMain<C extends BaseConfig>(loadSpec: () => ServiceSpec<C>): Promise<void> {
  let spec: ServiceSpec<C>;
  try {
    spec = loadSpec();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
  const logger = spec.logger ?? createLogger(spec.name, spec.config.LOG_LEVEL);
  let running: RunningService<C>;
  try {
    running = await startService({ ...spec, logger });
  } catch (error) {
    logger.fatal({ err: (error as Error).message }, 'start-up failed');
    process.exit(1);
  }
  closeWithGrace({ delay: spec.config.SHUTDOWN_TIMEOUT_MS, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'crashed; shutting down');
    else logger.info({ signal }, 'shutting down');
    await running.stop();
  });
}
