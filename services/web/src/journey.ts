import { eventCatalog, isEventType, type OrderView, type ServiceName } from '@troupe/contracts';

export interface NotificationView {
  kind: string;
  channel: string;
  /** Personal data: only with the admin token, which the web front does not send. */
  recipient?: string;
  subject: string;
  body?: string;
  sentAt: string;
}

export interface DeadLetterView {
  service: ServiceName;
  id: string;
  type: string | undefined;
  queue: string | undefined;
  reason: string | undefined;
  error: string | undefined;
  attempts: number | undefined;
  lastFailureAt: string | undefined;
  replayCount: number;
  orderId: string | undefined;
}

/** What kind of step an event is in the story of an order. */
export type HopKind = 'start' | 'progress' | 'failure' | 'compensation' | 'notice';

export interface Hop {
  type: string;
  producer: ServiceName | 'unknown';
  kind: HopKind;
  at: string;
  /** Milliseconds since the order was placed, and since the hop before. */
  sincePlacedMs: number;
  sinceLastMs: number;
}

export interface Journey {
  orderId: string;
  status: string;
  placedAt: string;
  items: OrderView['items'];
  total: OrderView['total'];
  /** "completed", "cancelled" or "in progress". */
  outcome: string;
  /** Why it was cancelled, when it was, in the customer's words. */
  compensated: boolean;
  hops: Hop[];
  traceId: string | null;
  traceUrl: string | null;
  notifications: NotificationView[];
  deadLetters: DeadLetterView[];
  mailpitUrl: string | null;
}

const KINDS: Record<string, HopKind> = {
  OrderPlaced: 'start',
  PaymentCompleted: 'progress',
  InventoryReserved: 'progress',
  PaymentFailed: 'failure',
  InventoryRejected: 'failure',
  PaymentRefunded: 'compensation',
  NotificationSent: 'notice',
};

/** The story of one order: every event in order, who produced it, and the time between hops. */
export function buildJourney(
  order: OrderView,
  notifications: NotificationView[],
  deadLetters: DeadLetterView[],
  links: { jaegerUiUrl?: string | undefined; mailpitUrl?: string | undefined },
): Journey {
  const placed = Date.parse(order.createdAt);
  let previous = placed;
  const hops = order.history.map((event) => {
    const at = Date.parse(event.at);
    const hop: Hop = {
      type: event.type,
      producer: isEventType(event.type) ? eventCatalog[event.type].producer : 'unknown',
      kind: KINDS[event.type] ?? 'progress',
      at: event.at,
      sincePlacedMs: Math.max(0, at - placed),
      sinceLastMs: Math.max(0, at - previous),
    };
    previous = at;
    return hop;
  });
  return {
    orderId: order.orderId,
    status: order.status,
    placedAt: order.createdAt,
    items: order.items,
    total: order.total,
    outcome: order.status === 'COMPLETED' ? 'completed' : order.status === 'CANCELLED' ? 'cancelled' : 'in progress',
    compensated: hops.some((h) => h.kind === 'compensation'),
    hops,
    traceId: order.traceId,
    traceUrl: order.traceId && links.jaegerUiUrl ? `${links.jaegerUiUrl}/trace/${order.traceId}` : null,
    notifications,
    deadLetters: deadLetters.filter((d) => d.orderId === order.orderId),
    mailpitUrl: links.mailpitUrl ?? null,
  };
}
