import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Link,
  type Span,
} from '@opentelemetry/api';
import { errorMessage } from './errors';

// Spans follow the OpenTelemetry messaging conventions:
// https://opentelemetry.io/docs/specs/semconv/messaging/messaging-spans/ and .../rabbitmq/
const tracer = trace.getTracer('@troupe/messaging');

export type TraceHeaders = Record<string, string>;

/** The W3C trace context of the active span, to store beside an outbox row. */
export function captureTraceHeaders(ctx: Context = context.active()): TraceHeaders {
  const carrier: TraceHeaders = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

export function contextFromHeaders(headers: Record<string, unknown> | undefined): Context {
  const carrier: Record<string, string> = {};
  for (const key of ['traceparent', 'tracestate', 'baggage']) {
    const value = headers?.[key];
    if (typeof value === 'string') carrier[key] = value;
    else if (Buffer.isBuffer(value)) carrier[key] = value.toString('utf8');
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

const baseAttributes = (destination: string, messageId: string, type: string): Attributes => ({
  'messaging.system': 'rabbitmq',
  'messaging.destination.name': destination,
  'messaging.message.id': messageId,
  'messaging.message.type': type,
});

/** A producer span as a child of `parent`; returns the span and the headers to send with it. */
export function startPublishSpan(
  parent: Context,
  exchange: string,
  messageId: string,
  type: string,
  orderId: string,
): { span: Span; headers: TraceHeaders } {
  const span = tracer.startSpan(
    `publish ${exchange}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...baseAttributes(exchange, messageId, type),
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.rabbitmq.destination.routing_key': '',
        'troupe.order_id': orderId,
      },
    },
    parent,
  );
  return { span, headers: captureTraceHeaders(trace.setSpan(parent, span)) };
}

/**
 * A consumer span continuing the producer's trace (child of the publish span, plus a link to it,
 * so that tools preferring links still find the producer).
 */
export function startProcessSpan(
  headers: Record<string, unknown> | undefined,
  queue: string,
  messageId: string,
  type: string,
  attempt: number,
): { span: Span; ctx: Context } {
  const parent = contextFromHeaders(headers);
  const producer = trace.getSpanContext(parent);
  const links: Link[] = producer ? [{ context: producer }] : [];
  const span = tracer.startSpan(
    `process ${queue}`,
    {
      kind: SpanKind.CONSUMER,
      links,
      attributes: {
        ...baseAttributes(queue, messageId, type),
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.consumer.group.name': queue,
        'troupe.delivery_attempt': attempt,
      },
    },
    parent,
  );
  return { span, ctx: trace.setSpan(parent, span) };
}

/**
 * A replay from the DLQ is a new operation: a root span of a new trace, linked to the trace the
 * message failed in; returns the span and the headers to send with it.
 */
export function startReplaySpan(
  failedHeaders: Record<string, unknown> | undefined,
  queue: string,
  messageId: string,
): { span: Span; headers: TraceHeaders } {
  const original = trace.getSpanContext(contextFromHeaders(failedHeaders));
  const span = tracer.startSpan(
    `replay ${queue}`,
    {
      root: true,
      kind: SpanKind.PRODUCER,
      links: original ? [{ context: original }] : [],
      attributes: {
        'messaging.system': 'rabbitmq',
        'messaging.operation.type': 'send',
        'messaging.destination.name': queue,
        'messaging.message.id': messageId,
      },
    },
    ROOT_CONTEXT,
  );
  return { span, headers: captureTraceHeaders(trace.setSpan(ROOT_CONTEXT, span)) };
}

export function endSpan(span: Span, error?: unknown): void {
  if (error !== undefined) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: errorMessage(error) });
    span.setAttribute('error.type', error instanceof Error ? error.name : 'Error');
  }
  span.end();
}

export { context, trace };
