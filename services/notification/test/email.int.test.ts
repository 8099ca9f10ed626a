import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { pruneRound } from '@troupe/service';
import { anEvent, eventually } from '@troupe/testing';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config';
import { mailsAcceptedPruning } from '../src/db/notifications';
import { notificationIdOf } from '../src/domain/notification-id';
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
const retriedOnInventory = () => notification.metric('troupe_messages_retried_total', { queue: 'notification.inventory.events' });
/** The records of this notification's mail having been accepted. */
const mailRecords = async (notificationId: string) =>
  (await notification.running.pool.query('SELECT 1 FROM mails_accepted WHERE notification_id = $1', [notificationId])).rows;

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

  it('when the transaction fails after the SMTP server accepted the mail, then the message comes again and the customer still gets one email', async () => {
    const customer = { customerId: 'cust-4', email: 'once@example.com' };
    const reserved = anEvent('InventoryReserved', { data: { customer } });
    const db = notification.running.pool;
    // The first COMMIT for this order fails after the mail went out: a trigger refuses its outbox
    // row once (a sequence counts the refusals, outside any transaction).
    await db.query(`CREATE SEQUENCE test_refusals;
      CREATE FUNCTION test_refuse_once() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF nextval('test_refusals') = 1 THEN RAISE EXCEPTION 'refused once by the test'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_once BEFORE INSERT ON troupe_outbox FOR EACH ROW
        WHEN (NEW.order_id = '${reserved.orderId}') EXECUTE FUNCTION test_refuse_once()`);
    try {
      const retriedBefore = await retriedOnInventory();

      await notification.broker.publish('inventory.events', reserved);

      const [sent] = await notification.awaitPublished(reserved.orderId, 'NotificationSent');
      expect(await retriedOnInventory()).toBe(retriedBefore + 1);
      const { rows: refusals } = await db.query<{ last_value: string }>('SELECT last_value FROM test_refusals');
      expect(Number(refusals[0]!.last_value), 'the trigger refused the first commit and let the retry through').toBe(2);
      expect(mailsTo('once@example.com')).toEqual([expect.objectContaining({ messageId: `<${sent!.body.data.notificationId}@troupe>` })]);
      expect(await mailRecords(sent!.body.data.notificationId)).toHaveLength(1);
    } finally {
      await db.query('DROP TRIGGER test_refuse_once ON troupe_outbox; DROP FUNCTION test_refuse_once(); DROP SEQUENCE test_refusals');
    }
  });

  it('when the accepted mail cannot be recorded, then the handler goes on: its COMMIT records the notification and the customer gets one email', async () => {
    const customer = { customerId: 'cust-5', email: 'unrecorded@example.com' };
    const reserved = anEvent('InventoryReserved', { data: { customer } });
    const notificationId = notificationIdOf(reserved.orderId, 'ORDER_CONFIRMED');
    const db = notification.running.pool;
    await db.query(`CREATE FUNCTION test_refuse_record() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'record refused by the test'; END $$;
      CREATE TRIGGER test_refuse_record BEFORE INSERT ON mails_accepted FOR EACH ROW
        WHEN (NEW.notification_id = '${notificationId}') EXECUTE FUNCTION test_refuse_record()`);
    try {
      const retriedBefore = await retriedOnInventory();

      await notification.broker.publish('inventory.events', reserved);

      const [sent] = await notification.awaitPublished(reserved.orderId, 'NotificationSent');
      expect(sent!.body.data.notificationId).toBe(notificationId);
      expect(mailsTo('unrecorded@example.com')).toHaveLength(1);
      expect(await retriedOnInventory()).toBe(retriedBefore);
      expect(await mailRecords(notificationId), 'the record was refused').toHaveLength(0);
    } finally {
      await db.query('DROP TRIGGER test_refuse_record ON mails_accepted; DROP FUNCTION test_refuse_record()');
    }
  });

  it('when a mail was accepted longer ago than the inbox keeps its rows, then its record is pruned and a recent one is kept', async () => {
    const retention = 3600;
    const [old, recent] = [randomUUID(), randomUUID()];
    const db = notification.running.pool;
    await db.query(
      `INSERT INTO mails_accepted (notification_id, accepted_at) VALUES ($1, now() - make_interval(secs => $3 + 60)), ($2, now() - make_interval(secs => $3 - 60))`,
      [old, recent, retention],
    );

    // A round of the service's own may hold the pruning lock for a moment: this one then does nothing.
    let deleted = 0;
    await eventually(async () => {
      const result = await pruneRound(db, [mailsAcceptedPruning(retention)], 1000);
      deleted += result.deleted.mails_accepted?.rows ?? 0;
      return result.ran;
    }, { what: 'a pruning round that ran' });

    expect(deleted).toBeGreaterThanOrEqual(1);
    const { rows } = await db.query<{ notification_id: string }>('SELECT notification_id FROM mails_accepted WHERE notification_id = ANY($1::uuid[])', [[old, recent]]);
    expect(rows.map((r) => r.notification_id)).toEqual([recent]);
  });
});
