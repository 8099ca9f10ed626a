import { eventually } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getOrder, placeOrder, settled } from './support/api';
import { useSystem } from './support/hooks';
import { OtlpReceiver, SpanKind, type ReceivedSpan } from './support/otlp-receiver';
import type { System } from './support/system';

// The four services as real processes exporting to an in-test OTLP receiver, as they would to
// Jaeger: one order must be one trace across every hop, each consume span the child of the
// publish span that sent its message.
let receiver: OtlpReceiver;
beforeAll(async () => {
  receiver = await OtlpReceiver.start();
});
afterAll(async () => {
  await receiver?.close();
});
const ctx = useSystem('tracing', () => ({
  OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
  OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
  OTEL_BSP_SCHEDULE_DELAY: '100',
  // The most an operator can turn on, a span per SQL statement included: no span may leak a
  // customer's details then either, and the hops read the same among the extra spans.
  OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,express,pg,pino',
  // Few at once, so a burst of orders waits for its turns and shares placing transactions.
  ORDER_MAX_IN_FLIGHT: '2',
}));

const EXPECTED_HOPS = [
  ['order', 'publish order.events'],
  ['payment', 'process payment.order.events'],
  ['payment', 'publish payment.events'],
  ['inventory', 'process inventory.payment.events'],
  ['order', 'process order.payment.events'],
  ['inventory', 'publish inventory.events'],
  ['notification', 'process notification.inventory.events'],
  ['order', 'process order.inventory.events'],
  ['notification', 'publish notification.events'],
  ['order', 'process order.notification.events'],
];

const describeSpan = (s: ReceivedSpan, all: ReceivedSpan[]) => {
  const t0 = Math.min(...all.map((a) => a.start));
  const at = `+${(s.start - t0).toFixed(1)}ms (${(s.end - s.start).toFixed(1)}ms)`.padEnd(22);
  return `${at} ${s.service.padEnd(12)} ${s.name.padEnd(40)} parent: ${all.find((p) => p.spanId === s.parentSpanId)?.name ?? '(root)'}`;
};

async function traceOf(system: System, orderId: string, hops: number): Promise<ReceivedSpan[]> {
  const { traceId } = await getOrder(system, orderId);
  expect(traceId).toMatch(/^[0-9a-f]{32}$/);
  return eventually(
    () => {
      const spans = receiver.trace(traceId!);
      const messaging = spans.filter((s) => s.kind === SpanKind.PRODUCER || s.kind === SpanKind.CONSUMER);
      return messaging.length >= hops ? spans : undefined;
    },
    { timeoutMs: 15_000, what: `the spans of trace ${traceId}` },
  );
}

describe('one trace per order', () => {
  it('when an order completes, then the HTTP request and every publish and process in all four services share the trace id GET /orders/{id} returns', async () => {
    const placed = await placeOrder(ctx.system, { email: 'trace.me@example.com', paymentMethod: { token: 'tok_visa' } });
    await settled(ctx.system, placed.orderId);
    const spans = await traceOf(ctx.system, placed.orderId, EXPECTED_HOPS.length);
    if (process.env.TRACE_DUMP) console.log([...spans].sort((a, b) => a.start - b.start).map((s) => describeSpan(s, spans)).join('\n'));

    const server = spans.find((s) => s.service === 'order' && s.kind === SpanKind.SERVER);
    expect(server?.name).toMatch(/^POST/);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['order', 'payment', 'inventory', 'notification']));
    for (const [service, name] of EXPECTED_HOPS) {
      expect(spans.some((s) => s.service === service && s.name === name), `${service}: ${name}`).toBe(true);
    }
  });

  it('when orders arrive in a burst, wait for their turns and share transactions, then each keeps a trace of its own', async () => {
    const placed = await Promise.all(Array.from({ length: 12 }, () => placeOrder(ctx.system)));
    const traceIds = placed.map((order) => order.traceId);
    expect(new Set(traceIds).size).toBe(placed.length);
    for (const order of placed) {
      // Its own request and its own OrderPlaced in its trace, no other order's.
      const spans = await eventually(
        () => {
          const all = receiver.trace(order.traceId!);
          return all.some((s) => s.name === 'publish order.events') ? all : undefined;
        },
        { timeoutMs: 15_000, what: `the publish span of order ${order.orderId}` },
      );
      expect(spans.filter((s) => s.service === 'order' && s.kind === SpanKind.SERVER)).toHaveLength(1);
      const published = spans.filter((s) => s.name === 'publish order.events').map((s) => s.attributes['troupe.order_id']);
      expect(published).toEqual([order.orderId]);
    }
  });

  it('when a message is consumed, then its process span is a child of, and linked to, the publish span that sent it', async () => {
    const placed = await placeOrder(ctx.system);
    await settled(ctx.system, placed.orderId);
    const spans = await traceOf(ctx.system, placed.orderId, EXPECTED_HOPS.length);
    const consumers = spans.filter((s) => s.kind === SpanKind.CONSUMER);
    expect(consumers.length).toBeGreaterThanOrEqual(6);
    for (const consume of consumers) {
      const parent = spans.find((s) => s.spanId === consume.parentSpanId);
      expect(parent?.kind, `${consume.name}: parent kind`).toBe(SpanKind.PRODUCER);
      expect(parent?.attributes['messaging.message.id']).toBe(consume.attributes['messaging.message.id']);
      expect(consume.links).toContainEqual({ traceId: parent!.traceId, spanId: parent!.spanId });
      expect(consume.attributes).toMatchObject({ 'messaging.system': 'rabbitmq', 'messaging.operation.type': 'process' });
    }
    // And each publish of a follow-up event happened inside the processing of the event that caused it.
    const followUp = spans.find((s) => s.name === 'publish payment.events');
    expect(spans.find((s) => s.spanId === followUp?.parentSpanId)?.name).toBe('process payment.order.events');
  });

  it('when the gateway fails twice, then the retries are visible in the same trace as failed process spans', async () => {
    const placed = await placeOrder(ctx.system, { paymentMethod: { token: 'tok_flaky' } });
    await settled(ctx.system, placed.orderId);
    const spans = await traceOf(ctx.system, placed.orderId, EXPECTED_HOPS.length + 2);
    const attempts = spans
      .filter((s) => s.name === 'process payment.order.events')
      .map((s) => [s.attributes['troupe.delivery_attempt'], s.status])
      .sort();
    expect(attempts).toEqual([
      [1, 2],
      [2, 2],
      [3, 0],
    ]); // status 2 = ERROR, 0 = UNSET
  });

  it('when spans are exported, then none carries an email address or a card token', async () => {
    const placed = await placeOrder(ctx.system, { email: 'secret.person@example.com', paymentMethod: { token: 'tok_visa' } });
    await settled(ctx.system, placed.orderId);
    const spans = await traceOf(ctx.system, placed.orderId, EXPECTED_HOPS.length);
    const text = JSON.stringify(spans.map((s) => s.attributes));
    expect(text).not.toContain('secret.person');
    expect(text).not.toContain('tok_visa');
  });

  it('when orders flow, then the metrics move: placed, completed, consumed and published counters and the latency histogram', async () => {
    const metric = async (service: 'order' | 'payment', name: string) => {
      const text = await (await fetch(`${ctx.system.baseUrl(service)}/metrics`)).text();
      return text
        .split('\n')
        .filter((l) => l.startsWith(name) && (name.includes('{') || l[name.length] === ' ' || l[name.length] === '{'))
        .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
    };
    const before = {
      placed: await metric('order', 'troupe_orders_placed_total'),
      completed: await metric('order', 'troupe_orders_completed_total'),
      latency: await metric('order', 'troupe_order_completion_duration_seconds_count'),
      consumed: await metric('payment', 'troupe_messages_consumed_total{queue="payment.order.events",type="OrderPlaced",outcome="processed"'),
      published: await metric('payment', 'troupe_messages_published_total'),
    };
    const placed = await placeOrder(ctx.system);
    await settled(ctx.system, placed.orderId);
    await eventually(async () => (await metric('order', 'troupe_orders_completed_total')) === before.completed + 1, { what: 'completed counted' });
    expect(await metric('order', 'troupe_orders_placed_total')).toBe(before.placed + 1);
    expect(await metric('order', 'troupe_order_completion_duration_seconds_count')).toBe(before.latency + 1);
    expect(await metric('payment', 'troupe_messages_consumed_total{queue="payment.order.events",type="OrderPlaced",outcome="processed"')).toBe(before.consumed + 1);
    expect(await metric('payment', 'troupe_messages_published_total')).toBeGreaterThanOrEqual(before.published + 1);
    const order = await (await fetch(`${ctx.system.baseUrl('order')}/metrics`)).text();
    expect(order).toMatch(/troupe_consumer_up\{queue="order.payment.events",service="order"\} 1/);
    expect(order).toMatch(/troupe_http_requests_total\{method="POST",route="\/orders",status="202",service="order"\}/);
    expect(order).toMatch(/process_resident_memory_bytes/);
  });
});
