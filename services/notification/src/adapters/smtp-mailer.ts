import { DependencyError } from '@troupe/messaging';
import nodemailer from 'nodemailer';
import type { Mailer } from '../domain/mailer';

/** The dependency's name in logs, metrics and /readyz. */
export const SMTP = 'smtp';

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
 *
 * `timeoutMs` bounds every wait on the server: connecting, its greeting, and each answer (a
 * server silent that long mid-session). A mail is sent inside the message's open transaction,
 * so nodemailer's defaults (2 min to connect, 10 min of silence) would hold a connection and its
 * row locks that long; a server that hangs is an outage like one that refuses (decision 0025).
 */
export function smtpMailer(url: string, from: string, timeoutMs: number): Mailer {
  const transport = nodemailer.createTransport({ url, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
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
