/** The producing services, each owning one fanout exchange named `<service>.events`. */
export const SERVICES = ['order', 'payment', 'inventory', 'notification'] as const;
export type ServiceName = (typeof SERVICES)[number];

export const exchangeOf = (service: ServiceName): string => `${service}.events`;

/** `<service>.<exchange>`, e.g. `payment.order.events` (docs/design.md "Topology"). */
export const queueOf = (consumer: ServiceName, exchange: string): string => `${consumer}.${exchange}`;

/** Where a service's failed messages end up, to be inspected and replayed. */
export const deadLetterQueueOf = (service: ServiceName): string => `${service}.dlq`;
