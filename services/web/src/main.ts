import { join } from 'node:path';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminGuard, closeServer, createHttpApp, createLogger, listen, processMetrics, runProcess, serviceUrlsOf, type Logger } from '@troupe/platform';
import { shutdownTelemetry } from '@troupe/telemetry';
import express, { type Express } from 'express';
import { asyncApiDocument, openApiDocument, type WebSettings } from '@troupe/contracts';
import { loadConfig, type Config } from './config';

import { deadLetterRoutes } from './http/dead-letters';
import { faultRoutes } from './http/faults';
import { invariantAdminRoutes, observerRoutes } from './http/observer';
import { orderRoutes } from './http/orders';
import { CATALOGUE, stockRoutes } from './http/stock';
import { OrdersFeed } from './orders-feed';
import { Upstream } from './upstream';

export interface RunningWeb {
  server: Server;
  port: number;
  stop(): Promise<void>;
}

const PUBLIC_DIR = join(__dirname, '..', 'public');

// The page loads only its own files: no inline script, nothing from elsewhere.
const CONTENT_SECURITY_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The web front's routes: the page, and the browser's API over the four services' HTTP APIs. */
export function createWebApp(config: Config, logger: Logger): { app: Express; feed: OrdersFeed } {
  const registry = processMetrics('web');
  const upstream = new Upstream(
    { ...serviceUrlsOf(config), observer: config.OBSERVER_URL },
    config.UPSTREAM_TIMEOUT_MS,
    { admin: config.ADMIN_TOKEN, operator: config.OPERATOR_READ_TOKEN },
  );
  const feed = new OrdersFeed(upstream, {
    intervalMs: config.POLL_INTERVAL_MS,
    limit: config.LIVE_ORDERS,
    maxClients: config.LIVE_STREAM_MAX_CLIENTS,
    heartbeatMs: config.LIVE_STREAM_HEARTBEAT_MS,
    logger,
    registry,
  });
  const links = { jaegerUiUrl: config.JAEGER_UI_URL, mailpitUrl: config.MAILPIT_URL };

  const app = createHttpApp({
    logger,
    registry,
    readiness: async () => ({ ready: true, checks: {} }),
    routes: (app) => {
      app.use((_req, res, next) => {
        res.set({ 'Content-Security-Policy': CONTENT_SECURITY_POLICY, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
        next();
      });
      app.use(express.static(PUBLIC_DIR, { index: 'index.html', maxAge: 0 }));
      // The published contracts, from the same generator as docs/contracts/ (a test keeps those current).
      const asyncApi = asyncApiDocument();
      const openApi = openApiDocument();
      app.get('/contracts/asyncapi.json', (_req, res) => {
        res.json(asyncApi);
      });
      app.get('/contracts/openapi.json', (_req, res) => {
        res.json(openApi);
      });
      app.get('/api/settings', (_req, res) => {
        res.json({ admin: config.ADMIN_TOKEN !== undefined, jaegerUiUrl: links.jaegerUiUrl ?? null, mailpitUrl: links.mailpitUrl ?? null, catalogue: [...CATALOGUE] } satisfies WebSettings);
      });
      const guard = config.ADMIN_TOKEN ? adminGuard(config.ADMIN_TOKEN) : undefined;
      orderRoutes(app, { upstream, feed, adminGuard: guard, links });
      stockRoutes(app, upstream);
      observerRoutes(app, upstream, guard);
      if (guard) {
        deadLetterRoutes(app, upstream, guard);
        faultRoutes(app, upstream, guard);
        invariantAdminRoutes(app, upstream, guard);
      }
    },
  });
  return { app, feed };
}

/** The web front, listening. */
export async function startWeb(config: Config, logger: Logger = createLogger('web', config.LOG_LEVEL)): Promise<RunningWeb> {
  const { app, feed } = createWebApp(config, logger);
  const server = await listen(app, config.PORT, config.HOST);
  const port = (server.address() as AddressInfo).port;
  if (!config.OPERATOR_READ_TOKEN) logger.warn('OPERATOR_READ_TOKEN is not set: the page shows no live list of orders, no failed attempts and no ledger (the services refuse those reads without it)');
  logger.info({ port, host: config.HOST }, `web front started: http://${config.HOST === '0.0.0.0' ? 'localhost' : config.HOST}:${port}/`);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      feed.close();
      await closeServer(server, app);
      logger.info('web front stopped');
      await shutdownTelemetry();
    })());
  return { server, port, stop };
}

if (require.main === module) void runProcess('web', loadConfig, startWeb);
