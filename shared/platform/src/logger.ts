import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    // Never let a card token or an email address reach the logs by accident.
    redact: { paths: ['paymentMethod', '*.paymentMethod', 'token', '*.token', 'email', '*.email'], censor: '[redacted]' },
  });
}
