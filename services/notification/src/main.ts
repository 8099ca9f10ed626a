import { join } from 'node:path';
import { operatorReads } from '@troupe/platform';
import { runMain, type ServiceSpec } from '@troupe/service';
import { logMailer } from './adapters/log-mailer';
import { SMTP, smtpMailer } from './adapters/smtp-mailer';
import { loadConfig, type Config } from './config';
import { mailsAcceptedPruning, notificationStore } from './db/notifications';
import { notificationFaults, withFaults } from './faults';
import { subscriptions } from './handlers';
import { notificationRoutes } from './http/routes';

/** Mails one transaction sends at most (see `messagesPerTransaction`). */
const MAILS_PER_TRANSACTION = 4;

/** The notification service: tells the customer how their order ended. */
export const notificationService = (config: Config): ServiceSpec<Config> => ({
  name: 'notification',
  config,
  migrationsDir: join(__dirname, '..', 'migrations'),
  compose: ({ pool, logger }) => {
    const faults = notificationFaults();
    const mailer = withFaults(config.SMTP_URL ? smtpMailer(config.SMTP_URL, config.MAIL_FROM, config.SMTP_TIMEOUT_MS) : logMailer(logger), faults);
    return {
      subscriptions: subscriptions(notificationStore(pool, logger), mailer),
      // Only the subscriptions whose handlers met the outage pause (scope 'reporting').
      dependencies: [{ name: SMTP, scope: 'reporting', probe: () => mailer.probe() }],
      pruning: [mailsAcceptedPruning(config.INBOX_RETENTION_SECONDS)],
      // Each message sends a mail in its transaction, one after the other: four at most keep the
      // transaction open little longer than one SMTP wait (decision 0032).
      messagesPerTransaction: MAILS_PER_TRANSACTION,
      routes: (app) => notificationRoutes(app, pool, operatorReads(config)),
      faults,
    };
  },
});

if (require.main === module) void runMain(() => notificationService(loadConfig()));
