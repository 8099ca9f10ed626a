import { METRIC } from '@troupe/contracts';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Every metric the messaging library exports, registered once per registry. */
export function createMessagingMetrics(registry: Registry) {
  /** The metric `registry` has under `name` already (a second `Messaging` on one registry), or a new one. */
  const registered = <T>(name: string, make: () => T): T =>
    (registry.getSingleMetric(name) as T | undefined) ?? make();
  const registers = [registry];
  return {
    published: registered(
      METRIC.messagesPublished,
      () =>
        new Counter({
          name: METRIC.messagesPublished,
          help: 'Events published and confirmed by the broker, by exchange and event type.',
          labelNames: ['exchange', 'type'],
          registers,
        }),
    ),
    consumed: registered(
      METRIC.messagesConsumed,
      () =>
        new Counter({
          name: METRIC.messagesConsumed,
          help: 'Messages taken off a queue, by queue, event type and outcome (processed, duplicate, ignored, retried, dead_lettered, requeued: a dependency was away).',
          labelNames: ['queue', 'type', 'outcome'],
          registers,
        }),
    ),
    handlerDuration: registered(
      METRIC.handlerDuration,
      () =>
        new Histogram({
          name: METRIC.handlerDuration,
          help: 'Time from taking a message off the queue to committing its effects, by queue and event type.',
          labelNames: ['queue', 'type'],
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
          registers,
        }),
    ),
    retried: registered(
      METRIC.messagesRetried,
      () =>
        new Counter({
          name: METRIC.messagesRetried,
          help: "Messages sent to their consumer's retry queue after a transient handler failure.",
          labelNames: ['queue', 'type'],
          registers,
        }),
    ),
    deadLettered: registered(
      METRIC.messagesDeadLettered,
      () =>
        new Counter({
          name: METRIC.messagesDeadLettered,
          help: 'Messages sent to the dead-letter queue, by queue and reason (poison, permanent, exhausted).',
          labelNames: ['queue', 'reason'],
          registers,
        }),
    ),
    deadLettersKept: registered(
      METRIC.deadLettersKept,
      () =>
        new Counter({
          name: METRIC.deadLettersKept,
          help: "Messages moved from the dead-letter queue into the service's database (a copy already kept counts again).",
          registers,
        }),
    ),
    duplicates: registered(
      METRIC.inboxDuplicates,
      () =>
        new Counter({
          name: METRIC.inboxDuplicates,
          help: 'Redelivered events found in the inbox and acknowledged with no effect.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    consumerUp: registered(
      METRIC.consumerUp,
      () =>
        new Gauge({
          name: METRIC.consumerUp,
          help: '1 while the subscription is consuming from its queue, else 0.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    dependencyUp: registered(
      METRIC.dependencyUp,
      () =>
        new Gauge({
          name: METRIC.dependencyUp,
          help: '0 while a dependency (database, smtp, …) is unavailable and its subscriptions are paused, else 1.',
          labelNames: ['dependency'],
          registers,
        }),
    ),
    dependencyOutages: registered(
      METRIC.dependencyOutages,
      () =>
        new Counter({
          name: METRIC.dependencyOutages,
          help: 'Times a dependency was found unavailable and its subscriptions paused.',
          labelNames: ['dependency'],
          registers,
        }),
    ),
    brokerConnected: registered(
      METRIC.brokerConnected,
      () =>
        new Gauge({ name: METRIC.brokerConnected, help: '1 while connected to RabbitMQ, else 0.', registers }),
    ),
    replayed: registered(
      METRIC.dlqReplayed,
      () =>
        new Counter({
          name: METRIC.dlqReplayed,
          help: 'Messages replayed from the dead-letter queue (by the CLI or the admin API) and received again by their consumer.',
          labelNames: ['queue'],
          registers,
        }),
    ),
    publishFailures: registered(
      METRIC.publishFailures,
      () =>
        new Counter({
          name: METRIC.publishFailures,
          help: 'Outbox events the broker did not confirm or could not route (they stay in the outbox and are published again), by exchange.',
          labelNames: ['exchange'],
          registers,
        }),
    ),
    batchSize: registered(
      METRIC.consumerBatch,
      () =>
        new Histogram({
          name: METRIC.consumerBatch,
          help: 'Messages handled in one transaction (the messages that arrived together, from any of the service\'s queues).',
          buckets: [1, 2, 5, 10, 20, 50, 100],
          registers,
        }),
    ),
  };
}

export type MessagingMetrics = ReturnType<typeof createMessagingMetrics>;
