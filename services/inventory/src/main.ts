import { join } from 'node:path';
import { runMain, type ServiceSpec } from '@troupe/service';
import { loadConfig, type Config } from './config';
import { stockStore } from './db/stock';
import { inventoryFaults } from './faults';
import { subscriptions } from './handlers';
import { stockRoutes } from './http/routes';

/** The inventory service: reserves stock for paid orders, never more than there is. */
export const inventoryService = (config: Config): ServiceSpec<Config> => ({
  name: 'inventory',
  config,
  migrationsDir: join(__dirname, '..', 'migrations'),
  compose: ({ pool }) => {
    const faults = inventoryFaults();
    return { subscriptions: subscriptions(stockStore, faults), routes: (app) => stockRoutes(app, pool), faults };
  },
});

if (require.main === module) void runMain(() => inventoryService(loadConfig()));
