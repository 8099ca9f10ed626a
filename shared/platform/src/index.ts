export { adminGuard, hasAdminToken } from './admin-guard';
export { bearerToken, ConfigError, httpUrl, parseConfig, requiredOutsideDevelopment, SERVICE_URLS, serviceUrlsOf } from './parse-config';
export { faultRoutes, Faults } from './faults';
export { closeServer, createHttpApp, HttpError, listen, validationError, type Readiness } from './http';
export { createLogger, type Logger } from './logger';
export { processMetrics } from './metrics';
export { runProcess } from './process';
export { operatorReads, type OperatorReads } from './operator-reads';
