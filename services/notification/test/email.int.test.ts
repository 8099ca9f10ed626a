import type { AddressInfo } from 'node:net';
import { anEvent, eventually } from '@troupe/testing';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { notificationService } from '../src/main';
import { startHarness, type Harness } from '@troupe/service-harness';

// The SMTP path: a real SMTP server in the test, the service pointed at it with SMTP_URL.
interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  messageId: string;
  raw: string;
}

const inbox: ReceivedMail[] = [];
/** Recipients whose next delivery attempts the SMTP server refuses with a temporary error. */
const refuseNext = new Map<string, number>();
/** Recipients whose next mails the server takes in full, then answers with a temporary error (so the sender tries again). */
const failAfterData = new Map<string, number>();
let smtp: SMTPServer;
let notification: Harness<Config>;

beforeAll(async () => {
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onRcptTo(address, _session, callback) {
      const refusals = refuseNext.get(address.address) ?? 0;
      if (refusals > 0) {
        refuseNext.set(address.address, refusals - 1);
        return callback(Object.assign(new Error('mailbox busy, try again later'), { responseCode: 451 }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        inbox.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          subject: /^Subject: (.*)$/m.exec(raw)?.[1]?.trim() ?? '',
          messageId: /^Message-ID: (.*)$/im.exec(raw)?.[1]?.trim() ?? '',
          raw,
        });
        const recipient = session.envelope.rcptTo[0]?.address ?? '';
        const failures = failAfterData.get(recipient) ?? 0;
        if (failures > 0) {
          failAfterData.set(recipient, failures - 1);
          return callback(Object.assign(new Error('local error in processing, try again later'), { responseCode: 451 }));
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve, reject) => {
    smtp.server.once('error', reject);
    smtp.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = smtp.server.address() as AddressInfo;
  notification = await startHarness({
    label: 'notification_email',
    loadConfig,
    service: notificationService,
    publishesOn: 'notification.events',
    env: { SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'shop@troupe.example' },
  });
});

afterAll(async () => {
  await notification?.stop();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
});

const mailsTo = (address: string) => inbox.filter((m) => m.to.includes(address));

describe('email notifications', () => {
  it('when an order is confirmed, then an email reaches the customer from MAIL_FROM with the confirmation subject', async () => {
    const customer = { customerId: 'cust-1', email: 'confirmed@example.com' };
    const reserved = anEvent('InventoryReserved', { data: { customer } });

    await notification.broker.publish('inventory.events', reserved);

    const [sent] = await notification.awaitPublished(reserved.orderId, 'NotificationSent');
    expect(sent!.body.data).toMatchObject({ kind: 'ORDER_CONFIRMED', channel: 'email' });
    expect(mailsTo('confirmed@example.com')).toEqual([
      expect.objectContaining({
        from: 'shop@troupe.example',
        to: ['confirmed@example.com'],
        subject: `Your order ${reserved.orderId.slice(0, 8)} is confirmed`,
        // The notification id is the Message-ID: a resend after a crash is recognisably the same mail.
        messageId: `<${sent!.body.data.notificationId}@troupe>`,
      }),
    ]);
    const { rows } = await notification.running.pool.query('SELECT channel, recipient FROM notifications WHERE order_id = $1', [reserved.orderId]);
    expect(rows).toEqual([{ channel: 'email', recipient: 'confirmed@example.com' }]);
  });

  it('when the SMTP server refuses the first attempt, then the notification is retried and the customer gets one email', async () => {
    const customer = { customerId: 'cust-2', email: 'busy@example.com' };
    refuseNext.set('busy@example.com', 1);
    const retriedBefore = await notification.metric('troupe_messages_retried_total', { queue: 'notification.payment.events' });
    const failed = anEvent('PaymentFailed', { data: { customer } });

    await notification.broker.publish('payment.events', failed);

    const [sent] = await notification.awaitPublished(failed.orderId, 'NotificationSent');
    expect(sent!.body.data).toMatchObject({ kind: 'PAYMENT_DECLINED', channel: 'email' });
    await eventually(() => mailsTo('busy@example.com').length >= 1, { what: 'the email' });
    expect(mailsTo('busy@example.com')).toEqual([
      expect.objectContaining({ subject: `Your order ${failed.orderId.slice(0, 8)} could not be paid` }),
    ]);
    expect(refuseNext.get('busy@example.com')).toBe(0);
    expect(await notification.metric('troupe_messages_retried_total', { queue: 'notification.payment.events' })).toBe(retriedBefore + 1);
    const { rows } = await notification.running.pool.query('SELECT kind FROM notifications WHERE order_id = $1', [failed.orderId]);
    expect(rows).toEqual([{ kind: 'PAYMENT_DECLINED' }]);
  });

  it('when the server took the mail but failed the delivery, then the retry sends it again with the same Message-ID', async () => {
    const customer = { customerId: 'cust-3', email: 'twice@example.com' };
    failAfterData.set('twice@example.com', 1);
    const refunded = anEvent('PaymentRefunded', { data: { customer } });

    await notification.broker.publish('payment.events', refunded);

    const [sent] = await notification.awaitPublished(refunded.orderId, 'NotificationSent');
    await eventually(() => mailsTo('twice@example.com').length >= 2, { what: 'both deliveries' });
    const [first, second] = mailsTo('twice@example.com');
    expect(failAfterData.get('twice@example.com')).toBe(0);
    expect(first!.messageId).toBe(`<${sent!.body.data.notificationId}@troupe>`);
    expect(second!.messageId).toBe(first!.messageId);
  });
});
