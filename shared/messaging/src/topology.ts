import { deadLetterQueueOf, exchangeOf, type ServiceName } from '@troupe/contracts';
import type { Channel } from 'amqplib';
import { retryDelays, waitQueueName, type RetryPolicy } from './retry-policy';

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
 * Declares everything this service needs, idempotently; run on every (re)connect.
 * - its own fanout exchange, and the ones it consumes from (so a consumer can start first);
 * - `<service>.<exchange>`: a durable quorum queue per subscription, bound to the exchange;
 * - `<queue>.retry.<delay>ms`: quorum wait queues whose TTL dead-letters back to that queue only;
 * - `<service>.dlq`: the dead-letter queue.
 * Queue arguments cannot change once declared (a 406), so they are fixed here, and the wait
 * queues carry their delay in their name.
 */
export async function declareTopology(channel: Channel, options: TopologyOptions): Promise<void> {
  const { service, subscribedExchanges, retry, deliveryLimit } = options;
  const dlq = deadLetterQueueOf(service);
  await channel.assertExchange(exchangeOf(service), 'fanout', { durable: true });
  await channel.assertQueue(dlq, { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  for (const exchange of subscribedExchanges) {
    const queue = `${service}.${exchange}`;
    await channel.assertExchange(exchange, 'fanout', { durable: true });
    await channel.assertQueue(queue, {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        'x-delivery-limit': deliveryLimit,
        ...AT_LEAST_ONCE_DEAD_LETTERING,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': dlq,
      },
    });
    await channel.bindQueue(queue, exchange, '');
    for (const delay of retryDelays(retry)) {
      await channel.assertQueue(waitQueueName(queue, delay), {
        durable: true,
        arguments: {
          'x-queue-type': 'quorum',
          ...AT_LEAST_ONCE_DEAD_LETTERING,
          'x-message-ttl': delay,
          'x-dead-letter-exchange': '',
          'x-dead-letter-routing-key': queue,
        },
      });
    }
  }
}
