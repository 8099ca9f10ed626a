export { hasAdminToken } from './admin';
export { commonConfig, ConfigError, parseConfig } from './config';
export { migrate, type Pool, type PoolClient } from './db';
export { closeServer, createHttpApp, HttpError, listen, validationError } from './http';
export { createLogger, type Logger } from './logger';
export { runMain, startService, type BaseConfig, type RunningService, type ServiceSpec } from './service';
export { adminGuard } from './admin';
export { faultRoutes, Faults } from './faults';
export { inboxPruning, pruneRound, type PruneTask } from './pruning';
