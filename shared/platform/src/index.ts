export { hasAdminToken } from './admin';
export { commonConfig, ConfigError, parseConfig } from './config';
export { createPool, migrate, type Pool, type PoolClient } from './db';
export { closeServer, createHttpApp, HttpError, listen, validationError, type Readiness } from './http';
export { createLogger, type Logger } from './logger';
export { runMain, startService, type BaseConfig, type BaseContext, type ServiceParts, type RunningService, type ServiceContext, type ServiceSpec } from './service';
export { adminGuard } from './admin';
export { faultRoutes, Faults, type FaultFlag } from './faults';
