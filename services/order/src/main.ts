import { join } from 'node:path';
import { operatorReads } from '@troupe/platform';
import { runMain, type ServiceSpec } from '@troupe/service';
import { loadConfig, type Config } from './config';
import { expiredKeys } from './db/idempotency-keys';
import { orderStore } from './db/orders';
import { subscriptions } from './handlers';
import { orderRoutes } from './http/routes';
import { createOrderMetrics } from './metrics';

/** The order service: takes orders over HTTP, follows each one to its end. */
export const orderService = (config: Config): ServiceSpec<Config> => ({
  name: 'order',
  config,
  migrationsDir: join(__dirname, '..', 'migrations'),
  bodyLimitBytes: config.MAX_BODY_BYTES,
  compose: ({ pool, registry }) => {
    const metrics = createOrderMetrics(registry);
    let routes: { close: () => Promise<void> } | undefined;
    return {
      subscriptions: subscriptions(orderStore, metrics),
      pruning: [expiredKeys],
      stop: async () => routes?.close(),
      routes: (app, { runUnitOfWork }) => {
        routes = orderRoutes(app, {
          pool,
          orders: orderStore,
          runUnitOfWork,
          metrics,
          idempotencyTtlSeconds: config.IDEMPOTENCY_KEY_TTL_SECONDS,
          admission: { maxInFlight: config.ORDER_MAX_IN_FLIGHT, maxWaitMs: config.ORDER_MAX_QUEUE_WAIT_MS },
          transactions: { concurrency: config.CONSUMER_CONCURRENCY, spreadAfterMs: config.CONSUMER_SPREAD_AFTER_MS, maxBatch: config.PREFETCH },
          operatorGuard: operatorReads(config)?.guard,
        });
      },
    };
  },
});

if (require.main === module) void runMain(() => orderService(loadConfig()));
