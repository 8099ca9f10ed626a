import { deadLetterQueueOf, exchangeOf, ownExchangeOf, queueOf, type ServiceName } from '@troupe/contracts';
import type { Channel } from 'amqplib';
import { retryDelays, waitQueueName, type RetryPolicy } from '../retry-policy';

/** The delivery limit a service's subscription queues get unless it sets its own (`MessagingOptions.deliveryLimit`). */
export const DEFAULT_DELIVERY_LIMIT = 10;

export interface TopologyOptions {
  service: ServiceName;
  /** Exchanges this service consumes from. */
  subscribedExchanges: readonly string[];
  retry: RetryPolicy;
  /**
   * Backstop for messages that never reach our retry logic (a process crashing on them every
   * time): after this many deliveries the broker itself dead-letters them to the DLQ. Explicit,
   * because RabbitMQ 4.x defaults to 20 and 3.10 to none.
   */
  deliveryLimit: number;
}

/**
 * Broker-side dead-lettering is at-most-once by default: a message that expires in a wait queue
 * while its target is unavailable (a broker restart) is dropped. Quorum queues (RabbitMQ ≥ 3.10)
 * can keep it until the target confirms; that mode requires the reject-publish overflow policy
 * (no length limit is set, so it never triggers). Found by the broker-restart fault test.
 */
const AT_LEAST_ONCE_DEAD_LETTERING = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } as const;

/**
 * Declares everything this service owns, idempotently; run on every (re)connect.
 * - `<service>.events`: its fanout exchange;
 * - `<service>.own`: its direct exchange, each of its queues bound under its own name (retries,
 *   dead letters and replays go through it, and its queues dead-letter into it);
 * - `<service>.<exchange>`: a durable quorum queue per subscription, bound to that exchange;
 * - `<queue>.retry.<delay>ms`: quorum wait queues whose TTL dead-letters back to that queue only;
 * - `<service>.dlq`: the dead-letter queue.
 * The exchanges it subscribes to belong to their producers: it only checks that they exist (a
 * passive declare, which needs no permission), and until they do the setup fails and is retried
 * with the connection's backoff. Its broker user may only touch names `<service>.…`
 * (`brokerPermissionsOf`). Queue arguments cannot change once declared (a 406), so they are fixed
 * here, and the wait queues carry their delay in their name.
 */
export async function declareTopology(channel: Channel, options: TopologyOptions): Promise<void> {
  const { service, subscribedExchanges, retry, deliveryLimit } = options;
  const dlq = deadLetterQueueOf(service);
  const own = ownExchangeOf(service);
  await channel.assertExchange(exchangeOf(service), 'fanout', { durable: true });
  await channel.assertExchange(own, 'direct', { durable: true });
  await channel.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await channel.bindQueue(dlq, own, dlq);
  for (const exchange of subscribedExchanges) {
    const queue = queueOf(service, exchange);
    await channel.checkExchange(exchange);
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': deliveryLimit,
        ...AT_LEAST_ONCE_DEAD_LETTERING,
        'x-dead-letter-exchange': own,
        'x-dead-letter-routing-key': dlq,
      },
    });
    await channel.bindQueue(queue, exchange, '');
    await channel.bindQueue(queue, own, queue);
    for (const delay of retryDelays(retry)) {
      const wait = waitQueueName(queue, delay);
      await channel.assertQueue(wait, {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          ...AT_LEAST_ONCE_DEAD_LETTERING,
          'x-message-ttl': delay,
          'x-dead-letter-exchange': own,
          'x-dead-letter-routing-key': queue,
        },
      });
      await channel.bindQueue(wait, own, wait);
    }
  }
}
