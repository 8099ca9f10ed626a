export { hasAdminToken } from './admin';
export { commonConfig, ConfigError, parseConfig } from './config';
export { createPool, migrate, type Pool, type PoolClient } from './db';
export { closeServer, createHttpApp, HttpError, listen, validationError, type Readiness } from './http';
export { createLogger, type Logger } from './logger';
export { runMain, startService, type BaseConfig, type BaseContext, type ServiceParts, type RunningService, type ServiceContext, type ServiceSpec } from './service';
export { inboxPruning, pruneRound, startPruning, type PruneTask, type RoundResult } from './pruning';
