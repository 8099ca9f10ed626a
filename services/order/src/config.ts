import { parseConfig } from '@troupe/platform';
import { commonConfig } from '@troupe/service';
import { z } from 'zod';

/** Every variable the order service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  ...commonConfig('order', 3000),
  /** Largest POST /orders body accepted, in bytes (larger is 413). */
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(1_048_576).default(16_384),
  /** How long an Idempotency-Key is remembered, in seconds. */
  IDEMPOTENCY_KEY_TTL_SECONDS: z.coerce.number().int().min(60).max(2_592_000).default(86_400),
  /** POST /orders handled at once; later requests wait for a turn in arrival order. */
  ORDER_MAX_IN_FLIGHT: z.coerce.number().int().min(1).max(10_000).default(32),
  /** Longest a POST /orders waits for its turn before it is refused with 503 + Retry-After. */
  ORDER_MAX_QUEUE_WAIT_MS: z.coerce.number().int().min(10).max(600_000).default(2000),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
