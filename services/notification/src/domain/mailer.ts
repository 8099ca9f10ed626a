import { DependencyError } from '@troupe/messaging';
import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

/** The dependency's name in logs, metrics and /readyz. */
export const SMTP = 'smtp';

export interface OutgoingMail {
  id: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly channel: 'email' | 'log';
  send(mail: OutgoingMail): Promise<void>;
  /** Resolves when the mail server answers (a connection and a greeting); throws otherwise. */
  probe(): Promise<void>;
  close(): void;
}

// Nodemailer's codes for "could not reach or keep the server", and SMTP's 421 "service not
// available": the server's outage, not this mail's problem. A 4xx about one recipient (451
// mailbox busy) stays the message's own failure and is retried as usual.
const UNREACHABLE = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS']);
const isServerOutage = (error: unknown): boolean => {
  const { code, responseCode } = error as { code?: unknown; responseCode?: unknown };
  return (typeof code === 'string' && UNREACHABLE.has(code)) || responseCode === 421;
};

/**
 * Sends through SMTP (Mailpit in the demo). A failure throws, so the message is retried; the
 * server being unreachable throws a `DependencyError` instead, which pauses the subscriptions
 * until `probe` passes, without spending the message's attempts.
 */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    channel: 'email',
    async send(mail) {
      try {
        // The notification id as Message-ID: a rare resend after a crash is recognisably the same mail.
        await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@troupe>` });
      } catch (error) {
        throw isServerOutage(error) ? new DependencyError(SMTP, error) : error;
      }
    },
    probe: async () => {
      await transport.verify();
    },
    close: () => transport.close(),
  };
}

/** No SMTP configured: the notification is recorded and logged, not emailed. */
export function logMailer(logger: Logger): Mailer {
  return {
    channel: 'log',
    async send(mail) {
      logger.info({ notificationId: mail.id, subject: mail.subject }, 'notification (not emailed: SMTP_URL unset)');
    },
    probe: async () => undefined,
    close: () => undefined,
  };
}
