import { commonConfig, parseConfig } from '@troupe/platform';
import { z } from 'zod';

/** Every variable the payment service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  // Several transactions at once: each charge waits on the card gateway (docs/decisions/0015).
  ...commonConfig('payment', 3001, { consumerConcurrency: 4 }),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
