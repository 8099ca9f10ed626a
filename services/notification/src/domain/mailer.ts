import type { NotificationChannel } from '@troupe/contracts';

export interface OutgoingMail {
  id: string;
  to: string;
  subject: string;
  text: string;
}

/** How the customer is told; `adapters/` holds the SMTP and the log-only ones. */
export interface Mailer {
  readonly channel: NotificationChannel;
  send(mail: OutgoingMail): Promise<void>;
  /** Resolves when the mail server answers (a connection and a greeting); throws otherwise. */
  probe(): Promise<void>;
  close(): void;
}
