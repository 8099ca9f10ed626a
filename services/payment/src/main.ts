import { join } from 'node:path';
import { runMain, type ServiceSpec } from '@troupe/platform';
import { SimulatedGateway } from './adapters/simulated-gateway';
import { loadConfig, type Config } from './config';
import { paymentFaults, withFaults } from './faults';
import { subscriptions } from './handlers';

/** The payment service: charges for placed orders, refunds when the stock is not there. */
export const paymentService = (config: Config): ServiceSpec<Config> => ({
  name: 'payment',
  config,
  migrationsDir: join(__dirname, '..', 'migrations'),
  compose: ({ pool }) => {
    const faults = paymentFaults();
    return { subscriptions: subscriptions(withFaults(new SimulatedGateway(pool), faults)), faults };
  },
});

if (require.main === module) void runMain(() => paymentService(loadConfig()));
