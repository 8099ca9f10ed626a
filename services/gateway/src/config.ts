import { bearerToken, parseConfig } from '@troupe/platform';
import { databaseTimeouts, databaseUrl } from '@troupe/service';
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

/** Every variable the gateway reads, validated once at start-up (see README). */
export const configSchema = z.object({
  /** The gateway's own Postgres database: its ledger. Required outside development. */
  DATABASE_URL: databaseUrl('gateway'),
  /** Connections in the gateway's Postgres pool. */
  DATABASE_POOL_SIZE: int(1, 100).default(10),
  ...databaseTimeouts(),
  /** HTTP port (0: any free port). */
  PORT: int(0, 65535).default(3004),
  /** Interface to listen on: loopback by default; containers set 0.0.0.0. */
  HOST: z.string().min(1).default('127.0.0.1'),
  /** pino level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Bearer token for the fault switches (/admin/faults); unset = no admin routes. */
  ADMIN_TOKEN: bearerToken().optional(),
  /** Bearer token for reading the ledger (GET /ledger); ADMIN_TOKEN reads it too. Neither set: no ledger route. */
  OPERATOR_READ_TOKEN: bearerToken().optional(),
  /** Longest graceful shutdown before the process is killed. */
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
