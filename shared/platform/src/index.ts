export { adminGuard, hasAdminToken } from './admin';
export { commonConfig, ConfigError, parseConfig } from './config';
export { Faults } from './faults';
export { closeServer, createHttpApp, HttpError, listen, validationError } from './http';
export { createLogger, type Logger } from './logger';
export { processMetrics } from './metrics';
export { inboxPruning, pruneRound, type PruneTask } from './pruning';
export { runMain, startService, type BaseConfig, type RunningService, type ServiceSpec } from './service';
