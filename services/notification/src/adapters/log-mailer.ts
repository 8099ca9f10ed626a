import type { Logger } from 'pino';
import type { Mailer } from '../domain/mailer';

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
