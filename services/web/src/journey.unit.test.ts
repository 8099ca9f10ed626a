import { describe, expect, it } from 'vitest';
import type { OrderView } from '@troupe/contracts';
import { buildJourney, type ServiceFailedAttempts } from './journey';

const none = { notifications: [], deadLetters: [], failedAttempts: [] };

const anOrder = (history: [string, number][], overrides: Partial<OrderView> = {}): OrderView => ({
  orderId: '4b0c0000-0000-4000-8000-000000000001',
  status: 'COMPLETED',
  customerId: 'c-1',
  items: [{ sku: 'SKU-TSHIRT', quantity: 2, unitPriceCents: 2000 }],
  total: { amountCents: 4000, currency: 'USD' },
  history: history.map(([type, ms]) => ({ type, at: new Date(Date.UTC(2026, 0, 1) + ms).toISOString() })),
  traceId: 'ab'.repeat(16),
  createdAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  updatedAt: new Date(Date.UTC(2026, 0, 1)).toISOString(),
  ...overrides,
});

describe('buildJourney', () => {
  it('when an order completed, then each hop names its producer and the time since placed and since the hop before', () => {
    const journey = buildJourney(anOrder([['OrderPlaced', 0], ['PaymentCompleted', 12], ['InventoryReserved', 30], ['NotificationSent', 45]]), none, {
      jaegerUiUrl: 'http://localhost:16686',
    });
    expect(journey.hops.map((h) => [h.type, h.producer, h.sincePlacedMs, h.sinceLastMs])).toEqual([
      ['OrderPlaced', 'order', 0, 0],
      ['PaymentCompleted', 'payment', 12, 12],
      ['InventoryReserved', 'inventory', 30, 18],
      ['NotificationSent', 'notification', 45, 15],
    ]);
    expect(journey.outcome).toBe('completed');
    expect(journey.traceUrl).toBe(`http://localhost:16686/trace/${'ab'.repeat(16)}`);
    expect(journey.compensated).toBe(false);
  });

  it('when the stock was short, then the rejection is a failure and the refund a compensation', () => {
    const journey = buildJourney(
      anOrder([['OrderPlaced', 0], ['PaymentCompleted', 10], ['InventoryRejected', 20], ['PaymentRefunded', 30], ['NotificationSent', 40]], { status: 'CANCELLED' }),
      none,
      {},
    );
    expect(journey.hops.map((h) => h.kind)).toEqual(['start', 'progress', 'failure', 'compensation', 'notice']);
    expect(journey).toMatchObject({ outcome: 'cancelled', compensated: true, traceUrl: null, mailpitUrl: null });
  });

  it("when the gateway holds a charge and a refund, then the journey shows both with their keys and the time since placed", () => {
    const orderId = '4b0c0000-0000-4000-8000-000000000001';
    const entry = (kind: 'charge' | 'refund', outcome: 'approved' | 'refunded', key: string, ms: number) => ({
      id: `0000000${ms}-0000-4000-8000-000000000000`.slice(-36),
      kind,
      idempotencyKey: key,
      orderId,
      amountCents: 4000,
      currency: 'USD',
      outcome,
      declineReason: null,
      createdAt: new Date(Date.UTC(2026, 0, 1) + ms).toISOString(),
    });
    const gatewayEntries = [entry('charge', 'approved', orderId, 11), entry('refund', 'refunded', `refund:${orderId}`, 29)];

    const journey = buildJourney(anOrder([['OrderPlaced', 0]], { status: 'CANCELLED' }), { ...none, gatewayEntries }, {});

    expect(journey.gatewayEntries.map((g) => [g.kind, g.idempotencyKey, g.outcome, g.sincePlacedMs])).toEqual([
      ['charge', orderId, 'approved', 11],
      ['refund', `refund:${orderId}`, 'refunded', 29],
    ]);
    expect(buildJourney(anOrder([['OrderPlaced', 0]], { status: 'PENDING' }), none, {}).gatewayEntries).toEqual([]);
  });

  it("when dead letters are given, then only this order's are kept", () => {
    const mine = { service: 'payment' as const, id: 'e1', type: 'OrderPlaced', queue: 'payment.order.events', reason: 'failed', error: 'x', attempts: 5, lastFailureAt: undefined, replayCount: 0, orderId: '4b0c0000-0000-4000-8000-000000000001' };
    const other = { ...mine, id: 'e2', orderId: 'another' };
    expect(buildJourney(anOrder([['OrderPlaced', 0]], { status: 'PENDING' }), { ...none, deadLetters: [mine, other] }, {}).deadLetters).toEqual([mine]);
  });

  it('when attempts failed in some services, then they come in time order, each with its service and the time since the order was placed', () => {
    const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
    const attempt = { queue: 'payment.order.events', eventId: '4b0c0000-0000-4000-8000-0000000000e1', eventType: 'OrderPlaced', replay: 0, errorName: 'TransientGatewayError' };
    const failedAttempts: ServiceFailedAttempts[] = [
      { service: 'payment', failedAttempts: [{ ...attempt, attempt: 2, outcome: 'retried', retryDelayMs: 2000, failedAt: at(1100) }, { ...attempt, attempt: 1, outcome: 'retried', retryDelayMs: 1000, failedAt: at(40) }] },
      { service: 'notification', failedAttempts: [{ ...attempt, queue: 'notification.inventory.events', eventType: 'InventoryReserved', attempt: 1, outcome: 'dead-lettered', deadLetterReason: 'permanent', errorName: 'PermanentError', failedAt: at(3500) }] },
    ];
    const journey = buildJourney(anOrder([['OrderPlaced', 0], ['PaymentCompleted', 3200], ['InventoryReserved', 3300]], { status: 'RESERVED' }), { ...none, failedAttempts }, {});
    expect(journey.failedAttempts.map((f) => [f.service, f.eventType, f.attempt, f.outcome, f.sincePlacedMs])).toEqual([
      ['payment', 'OrderPlaced', 1, 'retried', 40],
      ['payment', 'OrderPlaced', 2, 'retried', 1100],
      ['notification', 'InventoryReserved', 1, 'dead-lettered', 3500],
    ]);
    expect(journey.failedAttempts[0]).toEqual({ service: 'payment', ...attempt, attempt: 1, outcome: 'retried', retryDelayMs: 1000, at: at(40), sincePlacedMs: 40 });
    // Failed attempts are not events: the hops and the time between them stay the events'.
    expect(journey.hops.map((h) => h.sinceLastMs)).toEqual([0, 3200, 100]);
  });

  it('when an event type is not in the catalogue, then its producer is unknown rather than a guess', () => {
    expect(buildJourney(anOrder([['OrderPlaced', 0], ['SomethingNew', 5]]), none, {}).hops[1]).toMatchObject({ producer: 'unknown' });
  });
});
