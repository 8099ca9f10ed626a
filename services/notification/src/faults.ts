import { Faults } from '@troupe/platform';
import type { Mailer } from './domain/mailer';

/** The notification service's fault switch (off by default; see docs/decisions/0010). */
export const notificationFaults = () =>
  new Faults({
    notificationDeliveryFailureRate: { description: 'Share of messages whose delivery fails (the notification is retried)', min: 0, max: 1, defaultValue: 0, unit: 'ratio' },
  });

export type NotificationFaults = ReturnType<typeof notificationFaults>;

/** The mailer as the fault switch makes it: failing as often as asked, before anything is sent. */
export function withFaults(mailer: Mailer, faults: NotificationFaults): Mailer {
  return {
    channel: mailer.channel,
    async send(mail) {
      if (faults.strikes('notificationDeliveryFailureRate')) throw new Error('delivery failed (fault switch notificationDeliveryFailureRate)');
      await mailer.send(mail);
    },
    probe: () => mailer.probe(),
    close: () => mailer.close(),
  };
}
