import type { EventData, EventType, OrderStatus } from '@troupe/contracts';

// How far along the workflow a status is. Events can arrive in any order (InventoryReserved
// before PaymentCompleted, say); a status only ever moves forward, and the terminal ones stay.
const progress: Record<OrderStatus, number> = { PENDING: 0, PAID: 1, RESERVED: 2, COMPLETED: 3, CANCELLED: 3 };

export const isTerminal = (status: OrderStatus): boolean => progress[status] === 3;

/** The status an event points to, if any (InventoryRejected waits for the refund). */
export function statusAfter<T extends EventType>(type: T, data: EventData[T]): OrderStatus | undefined {
  switch (type) {
    case 'PaymentCompleted':
      return 'PAID';
    case 'InventoryReserved':
      return 'RESERVED';
    case 'PaymentFailed':
    case 'PaymentRefunded':
      return 'CANCELLED';
    case 'NotificationSent':
      return (data as EventData['NotificationSent']).kind === 'ORDER_CONFIRMED' ? 'COMPLETED' : undefined;
    default:
      return undefined;
  }
}

/** The order's next status: the event's target if it is further along, else unchanged. */
export function nextStatus(current: OrderStatus, target: OrderStatus | undefined): OrderStatus {
  if (target === undefined || isTerminal(current)) return current;
  return progress[target] > progress[current] ? target : current;
}
