import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { join } from 'node:path';
import { adminGuard, closeServer, createHttpApp, createLogger, faultRoutes, listen, operatorReads, processMetrics, runProcess, type Logger } from '@troupe/platform';
import { createPool, migrate, serverTimeoutsOf, unavailableDependency } from '@troupe/service';
import { shutdownTelemetry } from '@troupe/telemetry';
import type { Pool } from 'pg';
import { loadConfig, type Config } from './config';
import { gatewayFaults, type GatewayFaults } from './faults';
import { gatewayRoutes } from './http/routes';

export interface RunningGateway {
  server: Server;
  /** The port actually bound (differs from config when PORT=0). */
  port: number;
  pool: Pool;
  faults: GatewayFaults;
  /** Graceful stop: HTTP first (in-flight requests finish), then the database. */
  stop(): Promise<void>;
}

/**
 * The card gateway: a dependency of its own, outside every service's process and database, as a
 * card API is. It takes no part in the choreography (no broker): payment calls it over HTTP.
 */
export async function startGateway(config: Config, logger: Logger = createLogger('gateway', config.LOG_LEVEL)): Promise<RunningGateway> {
  const pool = createPool(config.DATABASE_URL, config.DATABASE_POOL_SIZE, logger, serverTimeoutsOf(config));
  await migrate(config.DATABASE_URL, [join(__dirname, '..', 'migrations')], logger);
  const faults = gatewayFaults();
  const app = createHttpApp({
    logger,
    registry: processMetrics('gateway'),
    // Bounded, as the services' own: a hung database makes /readyz say so within 2 s.
    readiness: async () => {
      const database = await Promise.race([
        pool.query('SELECT 1').then(
          () => true,
          () => false,
        ),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 2000).unref()),
      ]);
      return { ready: database, checks: { database } };
    },
    unavailableDependency,
    routes: (app) => {
      if (config.ADMIN_TOKEN) faultRoutes(app, faults, adminGuard(config.ADMIN_TOKEN));
      gatewayRoutes(app, pool, faults, operatorReads(config)?.guard);
    },
  });
  const server = await listen(app, config.PORT, config.HOST);
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, host: config.HOST }, 'gateway started');
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await closeServer(server, app);
      await pool.end();
      logger.info('gateway stopped');
      await shutdownTelemetry();
    })());
  return { server, port, pool, faults, stop };
}

if (require.main === module) void runProcess('gateway', loadConfig, startGateway);
