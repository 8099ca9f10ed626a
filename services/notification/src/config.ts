import { parseConfig } from '@troupe/platform';
import { commonConfig } from '@troupe/service';
import { z } from 'zod';

/** Every variable the notification service reads, validated once at start-up (see README). */
export const configSchema = z
  .object({
    ...commonConfig('notification', 3003),
    /** SMTP server to send email through, e.g. smtp://mailpit:1025; unset = record and log only. */
    SMTP_URL: z
      .string()
      .regex(/^smtps?:\/\/[^\s]+$/, 'must be a URL like smtp://host:1025')
      .optional(),
    /**
     * Longest wait on the SMTP server: to connect, for its greeting, for each answer. A mail is
     * sent inside the message's transaction; a server silent this long counts as away (decision 0025).
     */
    SMTP_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(5000),
    /** Sender address of the emails. */
    MAIL_FROM: z.email().default('orders@troupe.example'),
  })
  // Each transaction in flight records its accepted mails on a connection of its own (decision 0032).
  .refine((c) => c.DATABASE_POOL_SIZE > c.CONSUMER_CONCURRENCY, {
    path: ['DATABASE_POOL_SIZE'],
    message: 'must be larger than CONSUMER_CONCURRENCY: each message transaction in flight records its accepted mails on a connection of its own',
  });

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
