import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric the messaging library exports, registered once per registry. */
export function createMessagingMetrics(registry: Registry) {
  const once = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    published: once(
      'troupe_messages_published_total',
      () =>
        new Counter({
          name: 'troupe_messages_published_total',
          help: 'Events published and confirmed by the broker, by exchange and event type.',
          labelNames: ['exchange', 'type'],
          registers,
        }),
    ),
    consumed: once(
      'troupe_messages_consumed_total',
      () =>
        new Counter({
          name: 'troupe_messages_consumed_total',
          help: 'Messages taken off a queue, by queue, event type and outcome (processed, duplicate, ignored, retried, dead_lettered, requeued: a dependency was away).',
          labelNames: ['queue', 'type', 'outcome'],
          registers,
        }),
    ),
    handlerDuration: once(
      'troupe_message_handler_duration_seconds',
      () =>
        new Histogram({
          name: 'troupe_message_handler_duration_seconds',
          help: 'Time from taking a message off the queue to committing its effects, by queue and event type.',
          labelNames: ['queue', 'type'],
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers,
        }),
    ),
    retried: once(
      'troupe_messages_retried_total',
      () =>
        new Counter({
          name: 'troupe_messages_retried_total',
          help: "Messages sent to their consumer's retry queue after a transient handler failure.",
          labelNames: ['queue', 'type'],
          registers,
        }),
    ),
    deadLettered: once(
      'troupe_messages_dead_lettered_total',
      () =>
        new Counter({
          name: 'troupe_messages_dead_lettered_total',
          help: 'Messages sent to the dead-letter queue, by queue and reason (poison, permanent, exhausted).',
          labelNames: ['queue', 'reason'],
          registers,
        }),
    ),
    duplicates: once(
      'troupe_inbox_duplicates_total',
      () =>
        new Counter({
          name: 'troupe_inbox_duplicates_total',
          help: 'Redelivered events found in the inbox and acknowledged with no effect.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    consumerUp: once(
      'troupe_consumer_up',
      () =>
        new Gauge({
          name: 'troupe_consumer_up',
          help: '1 while the subscription is consuming from its queue, else 0.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    dependencyUp: once(
      'troupe_dependency_up',
      () =>
        new Gauge({
          name: 'troupe_dependency_up',
          help: '0 while a dependency (database, smtp, …) is unavailable and its subscriptions are paused, else 1.',
          labelNames: ['dependency'],
          registers,
        }),
    ),
    dependencyOutages: once(
      'troupe_dependency_outages_total',
      () =>
        new Counter({
          name: 'troupe_dependency_outages_total',
          help: 'Times a dependency was found unavailable and its subscriptions paused.',
          labelNames: ['dependency'],
          registers,
        }),
    ),
    brokerConnected: once(
      'troupe_broker_connected',
      () =>
        new Gauge({ name: 'troupe_broker_connected', help: '1 while connected to RabbitMQ, else 0.', registers }),
    ),
    replayed: once(
      'troupe_dlq_replayed_total',
      () =>
        new Counter({
          name: 'troupe_dlq_replayed_total',
          help: 'Messages replayed from the dead-letter queue (by the CLI or the admin API) and received again by their consumer.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    publishFailures: once(
      'troupe_publish_failures_total',
      () =>
        new Counter({
          name: 'troupe_publish_failures_total',
          help: 'Outbox events the broker did not confirm or could not route (they stay in the outbox and are published again), by exchange.',
          labelNames: ['exchange'],
          registers,
        }),
    ),
    batchSize: once(
      'troupe_consumer_batch_messages',
      () =>
        new Histogram({
          name: 'troupe_consumer_batch_messages',
          help: 'Messages handled in one transaction (the messages that arrived together, from any of the service\'s queues).',
          buckets: [1, 2, 5, 10, 20, 50, 100],
          registers,
        }),
    ),
  };
}

export type MessagingMetrics = ReturnType<typeof createMessagingMetrics>;
