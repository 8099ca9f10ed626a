/** One event of an order, as the invariants need it. */
export interface OrderEvent {
  id: string;
  type: string;
  orderId: string;
  /** NotificationSent: what the customer was told. */
  kind?: string;
  /** InventoryReserved: the lines reserved. */
  items?: { sku: string; quantity: number }[];
  /** When its producer says it occurred (committed, before it was published), when the envelope says. */
  occurredAtMs?: number;
}

export type Settlement = 'COMPLETED' | 'CANCELLED';

/** What the observer knows of one order: the events it saw, and when. */
export interface OrderTrack {
  orderId: string;
  /** When its OrderPlaced was seen; undefined while only later events were (they can overtake it between the observer's queues). */
  placedAtMs: number | undefined;
  firstSeenAtMs: number;
  lastEventAtMs: number;
  /**
   * Seen only in part: the observer's watch had a gap (a start, a reconnect) while the order was
   * under way, so some of its events may have gone by unseen. Its missing events prove nothing.
   */
  partial: boolean;
  /**
   * Its events' types by id: a redelivered or republished copy of an event is the same event. The
   * type alone is kept (what settles it is read as the event arrives): the window holds up to
   * `OBSERVER_MAX_ORDERS` of these, at about 0.7 KB of heap an order of four events.
   */
  events: Map<string, string>;
  settledAtMs: number | undefined;
  settlement: Settlement | undefined;
  /** From GET /orders/{id}, once asked (for a violation). */
  traceId?: string | null;
  /** When its ledger is to be read next (paid orders). */
  ledgerDueAtMs?: number;
  /** Its ledger's reads that agreed so far: the wait before the next doubles with each. */
  ledgerChecks?: number;
  /** When an overdue order's dead letters are to be read next, and how often they were (they back off). */
  deadLetterDueAtMs?: number;
  deadLetterChecks?: number;
  /** `lastEventAtMs` when `events-consistent` last judged every rule of it: nothing to judge again until another event. */
  consistencyJudgedAtMs?: number;
}

/**
 * How an event moves an order to an end (docs/design.md "Order statuses"): PaymentFailed and
 * PaymentRefunded cancel it; NotificationSent with ORDER_CONFIRMED completes it.
 */
export function settlementOf(event: OrderEvent): Settlement | undefined {
  if (event.type === 'PaymentFailed' || event.type === 'PaymentRefunded') return 'CANCELLED';
  if (event.type === 'NotificationSent' && event.kind === 'ORDER_CONFIRMED') return 'COMPLETED';
  return undefined;
}

/** What adding an event did: the order's track, whether the event was new to it, and an order evicted to make room. */
export interface Added {
  track: OrderTrack;
  isNew: boolean;
  evicted: OrderTrack | undefined;
}

/** How far from the oldest an eviction looks for an order nothing holds, before taking the oldest regardless. */
const EVICTION_SCAN = 64;

/**
 * The window of orders the invariants are checked over: in memory, the orders with an event seen
 * in the last `windowMs`, at most `maxOrders`. A restart starts an empty window: orders placed
 * before it are not judged. `held`: whether an order is still needed (it has an open violation):
 * pruning keeps it up to a second window, and a full window evicts another one first.
 */
export class OrderWindow {
  /** In order of the latest event, oldest first (an order is moved to the end at each new event). */
  private readonly orders = new Map<string, OrderTrack>();
  /** When the watch's latest gap ended: an order first seen by an event that occurred before it is seen in part. */
  private resumedAtMs = -Infinity;

  constructor(
    private readonly windowMs: number,
    private readonly maxOrders: number,
    private readonly held: (orderId: string) => boolean = () => false,
  ) {}

  /** Records `event`; a new order past `maxOrders` evicts the oldest one nothing holds (the caller cleans up after it). */
  add(event: OrderEvent, atMs: number): Added {
    let track = this.orders.get(event.orderId);
    let evicted: OrderTrack | undefined;
    if (!track) {
      track = { orderId: event.orderId, placedAtMs: undefined, firstSeenAtMs: atMs, lastEventAtMs: atMs, partial: (event.occurredAtMs ?? atMs) < this.resumedAtMs, events: new Map(), settledAtMs: undefined, settlement: undefined };
      if (this.orders.size >= this.maxOrders) evicted = this.evict();
      this.orders.set(event.orderId, track);
    }
    if (track.events.has(event.id)) return { track, isNew: false, evicted };
    track.events.set(event.id, event.type);
    track.lastEventAtMs = Math.max(track.lastEventAtMs, atMs);
    this.orders.delete(track.orderId);
    this.orders.set(track.orderId, track);
    if (event.type === 'OrderPlaced') track.placedAtMs ??= atMs;
    const settlement = settlementOf(event);
    if (settlement && !track.settlement) {
      track.settlement = settlement;
      track.settledAtMs = atMs;
    }
    return { track, isNew: true, evicted };
  }

  private evict(): OrderTrack | undefined {
    let scanned = 0;
    let oldest: OrderTrack | undefined;
    for (const track of this.orders.values()) {
      oldest ??= track;
      if (!this.held(track.orderId)) {
        this.orders.delete(track.orderId);
        return track;
      }
      if (++scanned >= EVICTION_SCAN) break;
    }
    if (oldest) this.orders.delete(oldest.orderId);
    return oldest;
  }

  /**
   * The watch saw nothing for a while (it started, or reconnected and bound its queues again; every
   * one consumed again at `resumedAtMs`): every order in the window may have lost events in the
   * gap, and so may one first seen afterwards by an event that occurred before the end of the gap
   * (published as the queues were being bound again, its next events may have gone by unseen).
   */
  noteGap(resumedAtMs: number): void {
    for (const track of this.orders.values()) track.partial = true;
    this.resumedAtMs = Math.max(this.resumedAtMs, resumedAtMs);
  }

  get(orderId: string): OrderTrack | undefined {
    return this.orders.get(orderId);
  }

  /** Orders with no event for the window leave it; one still held stays, up to a second window. */
  prune(nowMs: number): OrderTrack[] {
    const gone: OrderTrack[] = [];
    for (const track of this.orders.values()) {
      if (nowMs - track.lastEventAtMs < this.windowMs) break;
      if (this.held(track.orderId) && nowMs - track.lastEventAtMs < 2 * this.windowMs) continue;
      this.orders.delete(track.orderId);
      gone.push(track);
    }
    return gone;
  }

  all(): IterableIterator<OrderTrack> {
    return this.orders.values();
  }

  get size(): number {
    return this.orders.size;
  }
}
