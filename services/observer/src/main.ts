import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Request } from 'express';
import { adminGuard, closeServer, hasAdminToken, createHttpApp, createLogger, listen, operatorReads, processMetrics, runProcess, serviceUrlsOf, type Logger } from '@troupe/platform';
import { asyncApiDocument } from '@troupe/contracts';
import { shutdownTelemetry } from '@troupe/telemetry';
import { BrokerWatch } from './broker/watch';
import { choreographyOf, ContractError, type Choreography } from './domain/choreography';
import { loadConfig, type Config } from './config';
import { observerRoutes } from './http/routes';
import { observerMetrics } from './metrics';
import { Observer } from './observer';
import { Reads } from './reads/upstream';

export interface RunningObserver {
  server: Server;
  port: number;
  observer: Observer;
  stop(): Promise<void>;
}

/**
 * The AsyncAPI document at `path` (troupe's own without one), read as a choreography; a start-up
 * error names the file and what is wrong.
 */
export function loadChoreography(path: string | undefined): Choreography {
  if (path === undefined) return choreographyOf(asyncApiDocument());
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ContractError(`ASYNCAPI_PATH: cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  try {
    return choreographyOf(JSON.parse(text));
  } catch (error) {
    throw new ContractError(`ASYNCAPI_PATH: ${path}: ${(error as Error).message}`);
  }
}

/** The observer: config → the map from the contract → the broker watch → the rounds → HTTP. */
export async function startObserver(config: Config, logger: Logger = createLogger('observer', config.LOG_LEVEL)): Promise<RunningObserver> {
  const choreography = loadChoreography(config.ASYNCAPI_PATH);
  const registry = processMetrics('observer');
  let observer: Observer | undefined;
  const metrics = observerMetrics(registry, () => {
    const current = observer;
    return current && { openViolations: () => current.violations.openCounts(), driftEntries: () => current.drift.countByKind() };
  });
  const reads = new Reads(
    serviceUrlsOf(config),
    config.UPSTREAM_TIMEOUT_MS,
    // The read token only: the admin token stays with the observer, which never changes a service's state.
    config.OPERATOR_READ_TOKEN,
    ({ target, reason }) => {
      metrics.readFailures.inc({ target });
      logger.debug({ target, reason }, 'read failed');
    },
  );
  let fatal: ((error: Error) => void) | undefined;
  const watch = new BrokerWatch({
    url: config.RABBITMQ_URL,
    logger,
    exchanges: choreography.exchanges.map((e) => e.name),
    maxLength: config.OBSERVER_QUEUE_MAX_LENGTH,
    giveUpAfterMs: config.RABBITMQ_GIVE_UP_AFTER_MS,
    onMessage: (exchange, message) => observer?.onMessage(exchange, message),
    onGap: (resumedAtMs) => observer?.onGap(resumedAtMs),
    onFatal: (error) => fatal?.(error),
  });
  observer = new Observer({ settings: config, choreography, reads, depth: (queue) => watch.depth(queue), metrics, logger });

  const adminToken = config.ADMIN_TOKEN;
  const admin = adminToken ? { guard: adminGuard(adminToken), carries: (req: Request) => hasAdminToken(req, adminToken) } : undefined;
  const running = observer;
  const app = createHttpApp({
    logger,
    registry,
    readiness: async () => ({ ready: watch.ready, checks: { broker: watch.ready } }),
    routes: (app) => observerRoutes(app, running, operatorReads(config), admin),
  });
  const server = await listen(app, config.PORT, config.HOST);
  await watch.start();
  if (!config.OPERATOR_READ_TOKEN) {
    logger.warn(
      `OPERATOR_READ_TOKEN is not set: the failed attempts, dead letters and ledger go unread (the admin token is never sent to the services)${config.ADMIN_TOKEN ? '' : ', and GET /map and /invariants do not exist'}`,
    );
  }

  // One round at a time: a slow service delays the next round, never piles rounds up.
  let stopping = false;
  let round: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const schedule = () => {
    timer = setTimeout(() => {
      round = running
        .check()
        .catch((error: unknown) => logger.error({ err: (error as Error).message }, 'check failed'))
        .finally(() => {
          if (!stopping) schedule();
        });
    }, config.OBSERVER_CHECK_INTERVAL_MS);
  };
  schedule();
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.HOST, edges: choreography.edges.length, exchanges: choreography.exchanges.length }, 'observer started');

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      clearTimeout(timer);
      await closeServer(server, app);
      await round;
      await watch.stop();
      logger.info('observer stopped');
      await shutdownTelemetry();
    })());
  fatal = (error) => {
    logger.fatal({ err: error.message }, 'unrecoverable; shutting down');
    process.exitCode = 1;
    void stop().finally(() => process.exit(1));
  };
  return { server, port, observer, stop };
}

if (require.main === module) void runProcess('observer', loadConfig, startObserver);
