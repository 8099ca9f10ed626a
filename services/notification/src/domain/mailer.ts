import nodemailer from 'nodemailer';
import type { Logger } from 'pino';

export interface OutgoingMail {
  id: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  readonly channel: 'email' | 'log';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

/** Sends through SMTP (Mailpit in the demo); a failure throws, so the message is retried. */
export function smtpMailer(url: string, from: string): Mailer {
  const transport = nodemailer.createTransport(url);
  return {
    channel: 'email',
    async send(mail) {
      // The notification id as Message-ID: a rare resend after a crash is recognisably the same mail.
      await transport.sendMail({ from, to: mail.to, subject: mail.subject, text: mail.text, messageId: `<${mail.id}@troupe>` });
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
    close: () => undefined,
  };
}
