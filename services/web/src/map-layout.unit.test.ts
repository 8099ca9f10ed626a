import { describe, expect, it } from 'vitest';
import type { WebMap } from '@troupe/contracts';

interface Placed {
  x: number;
  y: number;
  width: number;
  height: number;
}
interface Layout {
  width: number;
  height: number;
  services: (Placed & { name: string })[];
  exchanges: (Placed & { name: string; perMinute: number })[];
  queues: (Placed & { name: string; service: string; declared: boolean; edges: { id: string }[] })[];
  links: { id: string; d: string }[];
  edges: { id: string; state: string; opacity: number; d: string }[];
}
interface MapModule {
  layoutMap(map: WebMap, now?: number): Layout;
  perMinuteText(perMinute: number): string;
  recencyOpacity(lastSeenAt: string | null, now: number, windowMs: number): number;
  totalPerMinute(edges: { type: string; perMinute: number }[]): number;
}

// The page's own module (plain JavaScript, served as it is): imported by path, so the compiler
// leaves it to the browser.
const modulePath = '../public/map.js';
const load = () => import(modulePath) as Promise<MapModule>;

const NOW = Date.parse('2026-01-01T12:00:00.000Z');
const at = (msAgo: number) => new Date(NOW - msAgo).toISOString();

function edge(exchange: string, type: string, subscriber: string, extra: Partial<WebMap['edges'][number]> = {}): WebMap['edges'][number] {
  const producer = exchange.split('.')[0]!;
  return { id: `${exchange}/${type}/${subscriber}`, exchange, producer, type, subscriber, queue: `${subscriber}.${exchange}`, declared: true, perMinute: 0, lastSeenAt: null, silent: false, ...extra };
}

function aMap(edges: WebMap['edges']): WebMap {
  const services = ['order', 'payment', 'inventory', 'notification'];
  const queues = [...new Set(edges.filter((e) => e.declared).map((e) => e.queue))];
  return {
    generatedAt: at(0),
    windowMs: 300_000,
    services: services.map((name) => ({ name, ready: true, deadLetters: 0 })),
    exchanges: services.map((name) => ({ name: `${name}.events`, producer: name, declared: true })),
    edges,
    subscriptions: queues.map((queue) => ({ queue, service: queue.split('.')[0]!, exchange: queue.split('.').slice(1).join('.'), declared: true, ready: 0, unacked: 0, consuming: true, pausedBy: [], consumers: 1 })),
    drift: [],
    ordersPerMinute: 0,
  };
}

const DECLARED = [
  edge('order.events', 'OrderPlaced', 'payment'),
  edge('payment.events', 'PaymentCompleted', 'order'),
  edge('payment.events', 'PaymentCompleted', 'inventory'),
  edge('payment.events', 'PaymentFailed', 'notification'),
  edge('payment.events', 'PaymentRefunded', 'notification'),
  edge('inventory.events', 'InventoryReserved', 'notification'),
  edge('inventory.events', 'InventoryRejected', 'payment'),
  edge('notification.events', 'NotificationSent', 'order'),
];

describe('the choreography map layout', () => {
  it('when the map is laid out, then each queue sits in its exchange\'s group, and no two nodes of a column overlap', async () => {
    const { layoutMap } = await load();
    const layout = layoutMap(aMap(DECLARED), NOW);
    expect(layout.queues.map((q) => q.name)).toEqual([
      'payment.order.events',
      'order.payment.events',
      'inventory.payment.events',
      'notification.payment.events',
      'payment.inventory.events',
      'notification.inventory.events',
      'order.notification.events',
    ]);
    for (const column of [layout.services, layout.exchanges, layout.queues]) {
      const sorted = [...column].sort((a, b) => a.y - b.y);
      sorted.slice(1).forEach((node, i) => expect(node.y, node.name).toBeGreaterThanOrEqual(sorted[i]!.y + sorted[i]!.height));
    }
    // Everything inside the drawing.
    for (const node of [...layout.services, ...layout.exchanges, ...layout.queues]) {
      expect(node.y + node.height, node.name).toBeLessThanOrEqual(layout.height);
      expect(node.x + node.width, node.name).toBeLessThanOrEqual(layout.width);
    }
  });

  it('when a queue takes two event types, then each edge ends on a row of its own', async () => {
    const { layoutMap } = await load();
    const layout = layoutMap(aMap(DECLARED), NOW);
    const ends = layout.edges.filter((e) => e.id.endsWith('/notification') && e.id.startsWith('payment.events')).map((e) => e.d.split(' ').slice(-2).join(' '));
    expect(ends).toHaveLength(2);
    expect(new Set(ends).size).toBe(2);
  });

  it('when each service publishes, then it is drawn beside its exchange, linked to it', async () => {
    const { layoutMap } = await load();
    const layout = layoutMap(aMap(DECLARED), NOW);
    for (const service of layout.services) {
      const exchange = layout.exchanges.find((e) => e.name === `${service.name}.events`)!;
      expect(service.y).toBe(exchange.y);
    }
    expect(layout.links.map((l) => l.id)).toEqual(['order->order.events', 'payment->payment.events', 'inventory->inventory.events', 'notification->notification.events']);
  });

  it('when an edge is undeclared, silent, flowing or idle, then its state says so', async () => {
    const { layoutMap } = await load();
    const edges = [
      edge('payment.events', 'PaymentCompleted', 'inventory', { perMinute: 4, lastSeenAt: at(1000) }),
      edge('payment.events', 'PaymentFailed', 'notification', { silent: true }),
      edge('payment.events', 'PaymentRefunded', 'notification'),
      edge('payment.events', 'PaymentTeleported', 'order', { declared: false, perMinute: 1, lastSeenAt: at(1000) }),
    ];
    const layout = layoutMap(aMap(edges), NOW);
    expect(Object.fromEntries(layout.edges.map((e) => [e.id.split('/')[1], e.state]))).toEqual({
      PaymentCompleted: 'flowing',
      PaymentFailed: 'silent',
      PaymentRefunded: 'idle',
      PaymentTeleported: 'undeclared',
    });
    // The undeclared type's queue was seen only through it: drawn, and marked undeclared.
    expect(layout.queues.find((q) => q.name === 'order.payment.events')).toMatchObject({ service: 'order', declared: false });
  });

  it('when an edge was seen long ago or never, then it is drawn fainter than one seen just now', async () => {
    const { recencyOpacity } = await load();
    expect(recencyOpacity(at(1000), NOW, 300_000)).toBe(1);
    expect(recencyOpacity(at(150_000), NOW, 300_000)).toBeLessThan(1);
    expect(recencyOpacity(at(150_000), NOW, 300_000)).toBeGreaterThan(recencyOpacity(at(299_000), NOW, 300_000));
    expect(recencyOpacity(at(10 * 60_000), NOW, 300_000)).toBe(0.35);
    expect(recencyOpacity(null, NOW, 300_000)).toBeLessThan(0.35);
  });

  it('when rates are shown, then whole numbers stay whole, a trickle keeps a decimal, and an exchange counts each type once', async () => {
    const { perMinuteText, totalPerMinute } = await load();
    expect([perMinuteText(0), perMinuteText(0.5), perMinuteText(3), perMinuteText(42.4)]).toEqual(['0/min', '0.5/min', '3/min', '42/min']);
    expect(totalPerMinute([{ type: 'PaymentCompleted', perMinute: 3 }, { type: 'PaymentCompleted', perMinute: 3 }, { type: 'PaymentFailed', perMinute: 1 }])).toBe(4);
  });
});
