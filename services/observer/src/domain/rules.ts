import type { OrderTrack } from './orders';

/** Where an order stands against `order-settles`. */
export type SettleState = 'settled' | 'waiting' | 'overdue' | 'unjudged';

/**
 * `order-settles`: an order whose OrderPlaced was seen reaches COMPLETED or CANCELLED within
 * `settleWithinMs` of it. One whose OrderPlaced the observer did not see has no clock to judge it
 * by, and one seen only in part (a gap in the watch) may have settled unseen: neither is judged.
 */
export function settleState(track: OrderTrack, nowMs: number, settleWithinMs: number): SettleState {
  if (track.settlement) return 'settled';
  if (track.placedAtMs === undefined || track.partial) return 'unjudged';
  return nowMs - track.placedAtMs > settleWithinMs ? 'overdue' : 'waiting';
}

const count = (track: OrderTrack, type: string) => {
  let n = 0;
  for (const seen of track.events.values()) if (seen === type) n += 1;
  return n;
};

/**
 * `events-consistent`, the rules an event too many breaks: more events can only arrive, so these
 * hold even of an order seen in part, and are judged as soon as the order's events have had their
 * grace (a redelivered copy has the same id: events are counted by id).
 */
export function excessEvents(track: OrderTrack): string[] {
  const reserved = count(track, 'InventoryReserved');
  const rejected = count(track, 'InventoryRejected');
  const notified = count(track, 'NotificationSent');
  const problems: string[] = [];
  if (count(track, 'PaymentCompleted') > 0 && reserved + rejected > 1) problems.push(`PaymentCompleted is followed by ${reserved} InventoryReserved and ${rejected} InventoryRejected: exactly one of them expected`);
  if (track.settlement && notified > 1) problems.push(`${notified} NotificationSent for a ${track.settlement} order: exactly one expected`);
  return problems;
}

/**
 * `events-consistent`, the rules a missing event breaks: an event may be late (a retry's backoff,
 * a mail outage), so these are judged only once the order has been quiet for the settle bound,
 * and never of an order seen in part (the event may have gone by unseen).
 * - PaymentCompleted is followed by one of InventoryReserved and InventoryRejected;
 * - InventoryRejected is followed by PaymentRefunded;
 * - InventoryReserved or InventoryRejected come only after a PaymentCompleted;
 * - a settled order has a NotificationSent.
 */
export function missingEvents(track: OrderTrack): string[] {
  const paid = count(track, 'PaymentCompleted');
  const reserved = count(track, 'InventoryReserved');
  const rejected = count(track, 'InventoryRejected');
  const problems: string[] = [];
  if (paid > 0 && reserved + rejected === 0) problems.push('PaymentCompleted is followed by 0 InventoryReserved and 0 InventoryRejected: exactly one of them expected');
  if (rejected > 0 && count(track, 'PaymentRefunded') === 0) problems.push('InventoryRejected is not followed by PaymentRefunded');
  if (paid === 0 && reserved + rejected > 0) problems.push(`${reserved > 0 ? 'InventoryReserved' : 'InventoryRejected'} without a PaymentCompleted`);
  if (track.settlement && count(track, 'NotificationSent') === 0) problems.push(`0 NotificationSent for a ${track.settlement} order: exactly one expected`);
  return problems;
}

/** Every rule of `events-consistent` an order's events break, whatever the time (both kinds). */
export const inconsistencies = (track: OrderTrack): string[] => [...excessEvents(track), ...missingEvents(track)];

export interface ConsistencyBounds {
  /** How long after the order's last event the rules an event too many breaks are judged. */
  graceMs: number;
  /** How long after it the rules a missing event breaks are (OBSERVER_SETTLE_WITHIN_MS). */
  settleWithinMs: number;
}

/** What `events-consistent` can say of an order now: the problems found, and whether every rule holds. */
export interface ConsistencyVerdict {
  problems: string[];
  /** Every rule holds (an open violation closes); false with no problems: a missing event, not yet due. */
  holds: boolean;
}

/**
 * `events-consistent` now, for a settled order whose OrderPlaced was seen, once its grace since its
 * last event has passed; undefined otherwise (not judged: placed before the observer saw it, not
 * settled, or its events still arriving).
 */
export function consistency(track: OrderTrack, nowMs: number, bounds: ConsistencyBounds): ConsistencyVerdict | undefined {
  if (track.placedAtMs === undefined || track.settledAtMs === undefined) return undefined;
  const quietMs = nowMs - Math.max(track.settledAtMs, track.lastEventAtMs);
  if (quietMs < bounds.graceMs) return undefined;
  const excess = excessEvents(track);
  const missing = track.partial ? [] : missingEvents(track);
  return { problems: quietMs >= bounds.settleWithinMs ? [...excess, ...missing] : excess, holds: excess.length === 0 && missing.length === 0 };
}

/** `one-charge-per-paid-order`: the approved charges an order with PaymentCompleted has in the gateway's ledger. */
export function chargeProblem(approvedCharges: number): string | undefined {
  return approvedCharges === 1 ? undefined : `the gateway's ledger holds ${approvedCharges} approved charges for a paid order: exactly one expected`;
}

