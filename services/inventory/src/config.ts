import { parseConfig } from '@troupe/platform';
import { commonConfig } from '@troupe/service';
import { z } from 'zod';

/** Every variable the inventory service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  ...commonConfig('inventory', 3002),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
