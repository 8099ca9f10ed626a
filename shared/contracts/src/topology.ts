import type { EventType } from './events';

/** The producing services, each owning one fanout exchange named `<service>.events`. */
export const SERVICES = ['order', 'payment', 'inventory', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const exchangeOf = (service: ServiceName): string => `${service}.events`;

/** `<service>.<exchange>`, e.g. `payment.order.events` (docs/design.md "Topology"). */
export const queueOf = (consumer: ServiceName, exchange: string): string => `${consumer}.${exchange}`;

/** Where a service's failed messages end up, to be inspected and replayed. */
export const deadLetterQueueOf = (service: ServiceName): string => `${service}.dlq`;

/**
 * A service's own direct exchange, bound to each of its queues under the queue's name: the one
 * way it sends a message to a queue of its own (a retry, a dead letter, a replay) and the broker's
 * dead-letter target for its queues. Not the default exchange: writing to that one would let a
 * service put messages on any queue in the vhost, its neighbours' included.
 */
export const ownExchangeOf = (service: ServiceName): string => `${service}.own`;

/**
 * Who listens to whom, and for what: per service, the producers whose exchanges it subscribes to
 * and the events it handles from each (docs/design.md "The workflow"). Each service's subscription
 * table (`handlers/index.ts`) says the same; a test holds the two together.
 */
export const SUBSCRIBED_EVENTS = {
  order: {
    payment: ['PaymentCompleted', 'PaymentFailed', 'PaymentRefunded'],
    inventory: ['InventoryReserved', 'InventoryRejected'],
    notification: ['NotificationSent'],
  },
  payment: { order: ['OrderPlaced'], inventory: ['InventoryRejected'] },
  inventory: { payment: ['PaymentCompleted'] },
  notification: { payment: ['PaymentFailed', 'PaymentRefunded'], inventory: ['InventoryReserved'] },
} as const satisfies Record<ServiceName, Partial<Record<ServiceName, readonly EventType[]>>>;

/** The exchanges each service subscribes to, by producer. */
export const SUBSCRIPTIONS: Readonly<Record<ServiceName, readonly ServiceName[]>> = {
  order: Object.keys(SUBSCRIBED_EVENTS.order) as ServiceName[],
  payment: Object.keys(SUBSCRIBED_EVENTS.payment) as ServiceName[],
  inventory: Object.keys(SUBSCRIBED_EVENTS.inventory) as ServiceName[],
  notification: Object.keys(SUBSCRIBED_EVENTS.notification) as ServiceName[],
};

/** The events `consumer` handles from `producer`'s exchange (none if it does not subscribe to it). */
export const eventsHandledBy = (consumer: ServiceName, producer: ServiceName): readonly EventType[] =>
  (SUBSCRIBED_EVENTS[consumer] as Partial<Record<ServiceName, readonly EventType[]>>)[producer] ?? [];

export interface BrokerPermissions {
  configure: string;
  write: string;
  read: string;
}

const escape = (name: string) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * The broker permissions of one service's user (RabbitMQ access control: regular expressions over
 * exchange and queue names, per vhost). Everything named `<service>.…` is its own: it declares,
 * writes to and reads from those. Beyond them it may only read (bind its queues to) the exchanges
 * it subscribes to. So it cannot publish another service's events, consume another's queue,
 * delete or purge anything not its own, or reach any queue through the default exchange.
 */
export function brokerPermissionsOf(service: ServiceName): BrokerPermissions {
  const own = `^${escape(service)}\\..*$`;
  const subscribed = SUBSCRIPTIONS[service].map((producer) => escape(exchangeOf(producer)));
  return { configure: own, write: own, read: `^(${escape(service)}\\..*|${subscribed.join('|')})$` };
}

/** The observer's broker user and the prefix of everything it declares (`observer.<exchange>`). */
export const OBSERVER = 'observer';

/** The observer's own queue on `exchange`: exclusive, auto-deleted, bounded. */
export const observerQueueOf = (exchange: string): string => `${OBSERVER}.${exchange}`;

/**
 * The observer's broker permissions: it declares, binds and reads only its own queues
 * (`observer.…`) and reads the four fanout exchanges (binding a queue to an exchange needs read
 * on the exchange). Its write covers its own queues alone, which only the broker routes to: it
 * can publish on no exchange, so it can never take part in the choreography it watches. A passive
 * declare of a service's queue, how it reads the queue's depth, needs no permission.
 */
export function observerPermissions(): BrokerPermissions {
  const own = `^${escape(OBSERVER)}\\..*$`;
  return { configure: own, write: own, read: `^(${escape(OBSERVER)}\\..*|${SERVICES.map((s) => escape(exchangeOf(s))).join('|')})$` };
}
