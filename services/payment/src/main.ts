import { join } from 'node:path';
import { runMain, type ServiceSpec } from '@troupe/service';
import { GATEWAY, httpGateway } from './adapters/http-gateway';
import { loadConfig, type Config } from './config';
import { paymentStore } from './db/payments';
import { subscriptions } from './handlers';

/** The payment service: charges for placed orders, refunds when the stock is not there. */
export const paymentService = (config: Config): ServiceSpec<Config> => ({
  name: 'payment',
  config,
  migrationsDir: join(__dirname, '..', 'migrations'),
  compose: () => {
    const gateway = httpGateway({ url: config.GATEWAY_URL, timeoutMs: config.GATEWAY_TIMEOUT_MS });
    return {
      subscriptions: subscriptions(paymentStore, gateway),
      // Only the subscriptions whose handlers met the outage pause (scope 'reporting').
      dependencies: [{ name: GATEWAY, scope: 'reporting', probe: () => gateway.probe() }],
    };
  },
});

if (require.main === module) void runMain(() => paymentService(loadConfig()));
