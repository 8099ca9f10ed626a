import type { OrderTrack } from './orders';

/** Where an order stands against `order-settles`. */
export type SettleState = 'settled' | 'waiting' | 'overdue' | 'unanchored';

/**
 * `order-settles`: an order whose OrderPlaced was seen reaches COMPLETED or CANCELLED within
 * `settleWithinMs` of it. One whose OrderPlaced the observer did not see has no clock to judge by.
 */
export function settleState(track: OrderTrack, nowMs: number, settleWithinMs: number): SettleState {
  if (track.settlement) return 'settled';
  if (track.placedAtMs === undefined) return 'unanchored';
  return nowMs - track.placedAtMs > settleWithinMs ? 'overdue' : 'waiting';
}

const count = (track: OrderTrack, type: string) => {
  let n = 0;
  for (const event of track.events.values()) if (event.type === type) n += 1;
  return n;
};

/**
 * `events-consistent`: what is wrong with a settled order's events, each rule one sentence (none:
 * consistent). Events are counted by id, so a redelivered copy is no second event.
 * - PaymentCompleted is followed by exactly one of InventoryReserved and InventoryRejected;
 * - InventoryRejected is followed by PaymentRefunded;
 * - InventoryReserved or InventoryRejected come only after a PaymentCompleted;
 * - a settled order has exactly one NotificationSent.
 */
export function inconsistencies(track: OrderTrack): string[] {
  const paid = count(track, 'PaymentCompleted');
  const reserved = count(track, 'InventoryReserved');
  const rejected = count(track, 'InventoryRejected');
  const refunded = count(track, 'PaymentRefunded');
  const notified = count(track, 'NotificationSent');
  const problems: string[] = [];
  if (paid > 0 && reserved + rejected !== 1) problems.push(`PaymentCompleted is followed by ${reserved} InventoryReserved and ${rejected} InventoryRejected: exactly one of them expected`);
  if (rejected > 0 && refunded === 0) problems.push('InventoryRejected is not followed by PaymentRefunded');
  if (paid === 0 && reserved + rejected > 0) problems.push(`${reserved > 0 ? 'InventoryReserved' : 'InventoryRejected'} without a PaymentCompleted`);
  if (track.settlement && notified !== 1) problems.push(`${notified} NotificationSent for a ${track.settlement} order: exactly one expected`);
  return problems;
}

/** Whether a settled order's events have had their grace to arrive, and may be judged. */
export const readyForConsistency = (track: OrderTrack, nowMs: number, graceMs: number): boolean =>
  track.settledAtMs !== undefined && nowMs - Math.max(track.settledAtMs, track.lastEventAtMs) >= graceMs;

/** `one-charge-per-paid-order`: the approved charges an order with PaymentCompleted has in the gateway's ledger. */
export function chargeProblem(approvedCharges: number): string | undefined {
  return approvedCharges === 1 ? undefined : `the gateway's ledger holds ${approvedCharges} approved charges for a paid order: exactly one expected`;
}

export const isPaid = (track: OrderTrack): boolean => count(track, 'PaymentCompleted') > 0;
