import type { MessagingMetrics } from '../metrics';
import type { OutboxEvent } from './event';
import type { ConfirmPublisher } from '../broker/publisher';
import { contextFromHeaders, endSpan, startPublishSpan } from '../tracing';

export interface Published {
  confirmed: OutboxEvent[];
  failed: OutboxEvent[];
  /** Why the first failed one failed. */
  error: unknown;
}

/**
 * Publishes events on their exchanges with confirms, all at once, each in a publish span of the
 * trace that staged it; says which the broker confirmed (and routed). Counts the failures.
 */
export async function publishEvents(publisher: ConfirmPublisher, metrics: MessagingMetrics, events: readonly OutboxEvent[]): Promise<Published> {
  const results = await Promise.allSettled(events.map((event) => publishEvent(publisher, metrics, event)));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  return {
    confirmed: events.filter((_, i) => results[i]?.status === 'fulfilled'),
    failed: events.filter((_, i) => results[i]?.status === 'rejected'),
    error: rejected?.reason as unknown,
  };
}

/** `troupe_messages_published_total`, once the published events are accounted for. */
export function countPublished(metrics: MessagingMetrics, events: readonly OutboxEvent[]): void {
  for (const event of events) metrics.published.inc({ exchange: event.exchange, type: event.type });
}

async function publishEvent(publisher: ConfirmPublisher, metrics: MessagingMetrics, event: OutboxEvent): Promise<void> {
  // The span belongs to the trace of the request or message that wrote the row.
  const { span, headers } = startPublishSpan(contextFromHeaders(event.headers), event.exchange, event.id, event.type, event.orderId);
  try {
    await publisher.publish(event.exchange, '', Buffer.from(event.body), {
      persistent: true,
      contentType: 'application/json',
      messageId: event.id,
      type: event.type,
      timestamp: Math.floor(Date.now() / 1000),
      headers: { ...event.headers, ...headers },
    });
    endSpan(span);
  } catch (error) {
    metrics.publishFailures.inc({ exchange: event.exchange });
    endSpan(span, error);
    throw error;
  }
}
