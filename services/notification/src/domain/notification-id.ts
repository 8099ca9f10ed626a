import { createHash } from 'node:crypto';
import type { NotificationKind } from '@troupe/contracts';

// troupe's namespace for notification ids (any fixed UUID would do; this one must never change).
const NOTIFICATIONS = 'c5a1f0de-7b7e-4d43-9e0c-3f6f2f3a9b41';

/**
 * The id of the notification of `kind` about an order, the same on every attempt: it is the
 * email's Message-ID, so a mail sent again (a retried or re-run batch, a crash between the send
 * and the commit) is recognisably the same mail.
 */
export const notificationIdOf = (orderId: string, kind: NotificationKind): string => uuidV5(NOTIFICATIONS, `${orderId}/${kind}`);

/** A name-based UUID, version 5 (SHA-1), as RFC 9562 section 5.5 defines it. */
export function uuidV5(namespace: string, name: string): string {
  const hash = createHash('sha1').update(Buffer.from(namespace.replaceAll('-', ''), 'hex')).update(name, 'utf8').digest();
  const bytes = hash.subarray(0, 16);
  bytes[6] = (bytes[6]! & 0x0f) | 0x50;
  bytes[8] = (bytes[8]! & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
