import { parseConfig } from '@troupe/platform';
import { commonConfig } from '@troupe/service';
import { z } from 'zod';

/** Every variable the payment service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  ...commonConfig('payment', 3001),
  /** The card gateway (services/gateway) that charges and refunds. */
  GATEWAY_URL: z
    .string()
    .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), 'must be a URL like http://gateway:3004')
    .default('http://127.0.0.1:3004'),
  /**
   * Longest wait for the gateway's answer to one call; past it the call counts as a transient
   * failure and is retried under the same idempotency key, so a charge that did go through is
   * not made twice.
   */
  GATEWAY_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
