import {
  eventCatalog,
  isEventType,
  type DeadLetterView,
  type FailedAttemptList,
  type GatewayEntry,
  type Journey,
  type JourneyHop,
  type JourneyNotification,
  type OrderView,
  type ServiceName,
} from '@troupe/contracts';

export type { DeadLetterView, Journey, JourneyNotification };

/** One service's answer to GET /failed-attempts?orderId=. */
export interface ServiceFailedAttempts {
  service: ServiceName;
  failedAttempts: FailedAttemptList['failedAttempts'];
}

const KINDS: Record<string, JourneyHop['kind']> = {
  OrderPlaced: 'start',
  PaymentCompleted: 'progress',
  InventoryReserved: 'progress',
  PaymentFailed: 'failure',
  InventoryRejected: 'failure',
  PaymentRefunded: 'compensation',
  NotificationSent: 'notice',
};

/**
 * The story of one order: every event in order, who produced it, and the time between hops; the
 * attempts that failed on the way (in whichever service), the card gateway's charges and refunds,
 * what the customer was told, and its messages in dead-letter queues.
 */
export function buildJourney(
  order: OrderView,
  found: { notifications: JourneyNotification[]; deadLetters: DeadLetterView[]; failedAttempts: ServiceFailedAttempts[]; gatewayEntries?: GatewayEntry[] },
  links: { jaegerUiUrl?: string | undefined; mailpitUrl?: string | undefined },
): Journey {
  const placed = Date.parse(order.createdAt);
  const sincePlaced = (at: string) => Math.max(0, Date.parse(at) - placed);
  let previous = placed;
  const hops = order.history.map((event) => {
    const at = Date.parse(event.at);
    const hop: JourneyHop = {
      type: event.type,
      producer: isEventType(event.type) ? eventCatalog[event.type].producer : 'unknown',
      kind: KINDS[event.type] ?? 'progress',
      at: event.at,
      sincePlacedMs: sincePlaced(event.at),
      sinceLastMs: Math.max(0, at - previous),
    };
    previous = at;
    return hop;
  });
  const failedAttempts = found.failedAttempts
    .flatMap(({ service, failedAttempts }) => failedAttempts.map(({ failedAt, ...attempt }) => ({ service, ...attempt, at: failedAt, sincePlacedMs: sincePlaced(failedAt) })))
    .sort((a, b) => Date.parse(a.at) - Date.parse(b.at) || a.replay - b.replay || a.attempt - b.attempt);
  return {
    orderId: order.orderId,
    status: order.status,
    placedAt: order.createdAt,
    items: order.items,
    total: order.total,
    outcome: order.status === 'COMPLETED' ? 'completed' : order.status === 'CANCELLED' ? 'cancelled' : 'in progress',
    compensated: hops.some((h) => h.kind === 'compensation'),
    hops,
    failedAttempts,
    traceId: order.traceId,
    traceUrl: order.traceId && links.jaegerUiUrl ? `${links.jaegerUiUrl}/trace/${order.traceId}` : null,
    notifications: found.notifications,
    gatewayEntries: (found.gatewayEntries ?? []).map((entry) => ({ ...entry, sincePlacedMs: sincePlaced(entry.createdAt) })),
    deadLetters: found.deadLetters.filter((d) => d.orderId === order.orderId),
    mailpitUrl: links.mailpitUrl ?? null,
  };
}
