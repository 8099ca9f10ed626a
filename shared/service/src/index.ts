export { commonConfig, databaseTimeouts, databaseUrl, serverTimeoutsOf } from './config';
export { createPool, migrate } from './db';
export { unavailableDependency, withTransaction } from '@troupe/messaging';
export { inboxPruning, olderThanPruning, pruneRound, type PruneTask } from './pruning';
export { runMain, startService, type BaseConfig, type RunningService, type ServiceSpec } from './service';
