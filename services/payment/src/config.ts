import { commonConfig, parseConfig } from '@troupe/platform';
import { z } from 'zod';

/** Every variable the payment service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  ...commonConfig('payment', 3001),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
