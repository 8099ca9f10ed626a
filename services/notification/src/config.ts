import { commonConfig, parseConfig } from '@troupe/platform';
import { z } from 'zod';

/** Every variable the notification service reads, validated once at start-up (see README). */
export const configSchema = z.object({
  ...commonConfig('notification', 3003),
  /** SMTP server to send email through, e.g. smtp://mailpit:1025; unset = record and log only. */
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^\s]+$/, 'must be a URL like smtp://host:1025')
    .optional(),
  /** Sender address of the emails. */
  MAIL_FROM: z.email().default('orders@troupe.example'),
});

export type Config = z.infer<typeof configSchema>;

export const loadConfig = (env: NodeJS.ProcessEnv = process.env): Config => parseConfig(configSchema, env);
