/** One event of an order, as the invariants need it. */
export interface OrderEvent {
  id: string;
  type: string;
  orderId: string;
  /** NotificationSent: what the customer was told. */
  kind?: string;
  /** InventoryReserved: the lines reserved. */
  items?: { sku: string; quantity: number }[];
}

export type Settlement = 'COMPLETED' | 'CANCELLED';

/** What the observer knows of one order: the events it saw, and when. */
export interface OrderTrack {
  orderId: string;
  /** When its OrderPlaced was seen; undefined while only later events were (they can overtake it between the observer's queues). */
  placedAtMs: number | undefined;
  firstSeenAtMs: number;
  lastEventAtMs: number;
  /** Its events by id: a redelivered or republished copy of an event is the same event. */
  events: Map<string, OrderEvent>;
  settledAtMs: number | undefined;
  settlement: Settlement | undefined;
  /** From GET /orders/{id}, once asked (for a violation). */
  traceId?: string | null;
  /** When its ledger is to be read next (paid orders). */
  ledgerDueAtMs?: number;
  /** When an overdue order's dead letters are to be read next. */
  deadLetterDueAtMs?: number;
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

/**
 * The window of orders the invariants are checked over: in memory, the orders whose events were
 * seen in the last `windowMs`, at most `maxOrders` (the oldest leave first). A restart starts an
 * empty window: orders placed before it are not judged.
 */
export class OrderWindow {
  /** In order of first sighting, oldest first. */
  private readonly orders = new Map<string, OrderTrack>();

  constructor(
    private readonly windowMs: number,
    private readonly maxOrders: number,
  ) {}

  /** Records `event`; returns the order's track and whether the event was new to it. */
  add(event: OrderEvent, atMs: number): { track: OrderTrack; isNew: boolean } {
    let track = this.orders.get(event.orderId);
    if (!track) {
      track = { orderId: event.orderId, placedAtMs: undefined, firstSeenAtMs: atMs, lastEventAtMs: atMs, events: new Map(), settledAtMs: undefined, settlement: undefined };
      this.orders.set(event.orderId, track);
      if (this.orders.size > this.maxOrders) this.orders.delete(this.orders.keys().next().value as string);
    }
    if (track.events.has(event.id)) return { track, isNew: false };
    track.events.set(event.id, event);
    track.lastEventAtMs = Math.max(track.lastEventAtMs, atMs);
    if (event.type === 'OrderPlaced') track.placedAtMs ??= atMs;
    const settlement = settlementOf(event);
    if (settlement && !track.settlement) {
      track.settlement = settlement;
      track.settledAtMs = atMs;
    }
    return { track, isNew: true };
  }

  get(orderId: string): OrderTrack | undefined {
    return this.orders.get(orderId);
  }

  /** Orders older than the window leave it; `keep` holds back one still needed (an open violation). */
  prune(nowMs: number, keep: (orderId: string) => boolean = () => false): OrderTrack[] {
    const gone: OrderTrack[] = [];
    for (const track of this.orders.values()) {
      if (nowMs - track.firstSeenAtMs < this.windowMs) break;
      if (keep(track.orderId) && nowMs - track.firstSeenAtMs < 2 * this.windowMs) continue;
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
