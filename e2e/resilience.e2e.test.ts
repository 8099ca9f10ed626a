import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { anEvent, anOrderRequest, eventually } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import {
  backwardMoves,
  deadLetters,
  getNotifications,
  getOrder,
  historyTypes,
  placeOrder,
  reaches,
  settled,
  sql,
  watchStatuses,
} from './support/api';
import { useSystem } from './support/hooks';
import { SERVICES } from './support/system';

// Services stopped, restarted and fed events by hand. Kept apart from the happy paths (and the
// shutdown test last) because every test here leaves processes in a state the next one repairs.
const env = useSystem('resilience');

const noDeadLetters = { order: 0, payment: 0, inventory: 0, notification: 0 };

describe('a service that stops and comes back', () => {
  it('when inventory is down while orders are paid, then their PaymentCompleted events wait in its queue and every order completes once it is back', async () => {
    const { system, broker } = env;
    const exit = await system.stop('inventory');
    expect(exit).toMatchObject({ code: 0, signal: null });

    const placed = await Promise.all(Array.from({ length: 5 }, () => placeOrder(system, { items: [{ sku: 'SKU-MUG', quantity: 1 }] })));
    const ids = placed.map((o) => o.orderId);
    await Promise.all(ids.map((id) => reaches(system, id, 'PAID')));
    await eventually(async () => (await broker.depth('inventory.payment.events')) === 5, {
      what: 'the five PaymentCompleted events to wait in inventory.payment.events',
    });

    await system.start('inventory');

    const orders = await Promise.all(ids.map((id) => settled(system, id, { events: 4 })));
    expect(orders.map((o) => o.status)).toEqual(Array(5).fill('COMPLETED'));
    expect(await broker.depth('inventory.payment.events')).toBe(0);
    const reservations = await sql<{ order_id: string }>(system, 'inventory', 'SELECT order_id FROM reservations WHERE order_id = ANY($1::uuid[])', [ids]);
    expect(reservations.map((r) => r.order_id).sort()).toEqual([...ids].sort());
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });

  it('when payment is killed with SIGKILL in the middle of a burst, then after a restart every order completes with one payment and one notification', async () => {
    const { system, broker } = env;
    const placed = await Promise.all(Array.from({ length: 20 }, () => placeOrder(system, { items: [{ sku: 'SKU-MUG', quantity: 1 }] })));
    const ids = placed.map((o) => o.orderId);
    // Killed once it has committed its first payment: some done, some in hand, some not yet seen.
    await eventually(async () => (await sql(system, 'payment', 'SELECT 1 FROM payments WHERE order_id = ANY($1::uuid[]) LIMIT 1', [ids])).length > 0, {
      intervalMs: 10,
      what: 'the first payment',
    });

    await system.restart('payment', 'SIGKILL');

    const orders = await Promise.all(ids.map((id) => settled(system, id, { events: 4 })));
    expect(orders.map((o) => o.status)).toEqual(Array(20).fill('COMPLETED'));
    for (const order of orders) {
      expect(historyTypes(order), `order ${order.orderId}: ${JSON.stringify(order.history)}`).toEqual([
        'OrderPlaced',
        'PaymentCompleted',
        'InventoryReserved',
        'NotificationSent',
      ]);
    }
    const payments = await sql<{ order_id: string; n: number }>(
      system,
      'payment',
      `SELECT order_id, count(*)::int AS n FROM payments WHERE order_id = ANY($1::uuid[]) AND status = 'CAPTURED' GROUP BY 1`,
      [ids],
    );
    expect(payments).toHaveLength(20);
    expect(await sql(system, 'inventory', 'SELECT order_id FROM reservations WHERE order_id = ANY($1::uuid[])', [ids])).toHaveLength(20);
    expect(await sql(system, 'notification', 'SELECT order_id FROM notifications WHERE order_id = ANY($1::uuid[])', [ids])).toHaveLength(20);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });
});

describe('events that arrive out of order', () => {
  // How the order service is made to see the workflow backwards, deterministically:
  // - It consumes three queues (one per exchange) with independent consumers, so the only way to
  //   choose the order it sees events in is to hand it one event at a time, and wait until it has
  //   recorded each (its order_history row carries the event id) before sending the next.
  //   Restarting it over three pre-filled queues would not do: its consumers attach in
  //   subscription order, payment.events first, so it would most likely see PaymentCompleted
  //   first and the test would pass without testing anything.
  // - Payment, inventory and notification are stopped meanwhile: the order is placed but not
  //   paid (OrderPlaced waits in payment.order.events), and nobody but the order service reacts
  //   to the injected events. Fanout exchanges copy them to the stopped services' queues too;
  //   those copies are drained, so when the services come back they run the real workflow for
  //   this order, whose events then reach the order service a second time, in the normal order,
  //   long after it is COMPLETED.
  // GET /orders/{id} is polled throughout; every status it reports is recorded.
  it('when the confirmation arrives before the reservation and the payment, then the order is COMPLETED and never moves backwards, even when the real events follow', async () => {
    const { system, broker } = env;
    await Promise.all((['payment', 'inventory', 'notification'] as const).map((s) => system.stop(s)));

    const placed = await placeOrder(system, { items: [{ sku: 'SKU-HOODIE', quantity: 1 }] });
    const orderId = placed.orderId;
    const statuses = watchStatuses(system, orderId);

    const injected = [
      { exchange: 'notification.events', event: anEvent('NotificationSent', { orderId, data: { kind: 'ORDER_CONFIRMED' } }) },
      { exchange: 'inventory.events', event: anEvent('InventoryReserved', { orderId, data: { items: [{ sku: 'SKU-HOODIE', quantity: 1 }] } }) },
      { exchange: 'payment.events', event: anEvent('PaymentCompleted', { orderId }) },
    ];
    for (const { exchange, event } of injected) {
      await broker.publish(exchange, event);
      await eventually(async () => (await sql(system, 'order', 'SELECT 1 FROM order_history WHERE event_id = $1', [event.id])).length === 1, {
        what: `the order service to record ${event.type}`,
      });
      expect((await getOrder(system, orderId)).status).toBe('COMPLETED');
    }

    // The copies the other subscribers would have acted on: exactly the injected events.
    const copies = await Promise.all(
      ['payment.inventory.events', 'inventory.payment.events', 'notification.payment.events', 'notification.inventory.events'].map(
        async (queue) => [queue, (await broker.drain(queue)).map((m) => m.properties.type as string)] as const,
      ),
    );
    expect(Object.fromEntries(copies)).toEqual({
      'payment.inventory.events': ['InventoryReserved'],
      'inventory.payment.events': ['PaymentCompleted'],
      'notification.payment.events': ['PaymentCompleted'],
      'notification.inventory.events': ['InventoryReserved'],
    });

    await Promise.all((['payment', 'inventory', 'notification'] as const).map((s) => system.start(s)));
    // Settled for real: PaymentCompleted, InventoryReserved and NotificationSent a second time.
    const order = await settled(system, orderId, { events: 7 });
    const seen = await statuses.stop();

    expect(order.status).toBe('COMPLETED');
    expect([...historyTypes(order)].sort()).toEqual(
      ['OrderPlaced', 'NotificationSent', 'InventoryReserved', 'PaymentCompleted', 'PaymentCompleted', 'InventoryReserved', 'NotificationSent'].sort(),
    );
    expect(backwardMoves(seen)).toEqual([]);
    expect(seen).toEqual(['PENDING', 'COMPLETED']);
    // The rest of the system did its part once, for real.
    expect((await getNotifications(system, orderId)).map((n) => n.kind)).toEqual(['ORDER_CONFIRMED']);
    expect(await sql(system, 'payment', 'SELECT status FROM payments WHERE order_id = $1', [orderId])).toEqual([{ status: 'CAPTURED' }]);
    expect(await sql(system, 'inventory', 'SELECT items FROM reservations WHERE order_id = $1', [orderId])).toEqual([
      { items: [{ sku: 'SKU-HOODIE', quantity: 1 }] },
    ]);
    expect(await deadLetters(system, broker)).toEqual(noDeadLetters);
  });
});

describe('shutting down', () => {
  // Graceful means in-flight requests are answered, not that open connections stay served: a
  // client (a customer's browser, a load balancer) that keeps a keep-alive connection busy must
  // not keep the process alive until SHUTDOWN_TIMEOUT_MS kills it.
  it('when the order service gets SIGTERM with a request in flight on a keep-alive connection, then the request is answered and the process still exits with code 0 within a few seconds', async () => {
    const { system } = env;
    const agent = new Agent({ keepAlive: true, maxSockets: 1 }); // one connection, reused
    const base = system.baseUrl('order');
    try {
      // A POST /orders whose body arrives in two parts, so it is in flight when SIGTERM lands.
      const body = JSON.stringify(anOrderRequest());
      const inFlight = openRequest(agent, `${base}/orders`, 'POST', body);
      inFlight.write(body.slice(0, 10));
      // No event tells us the server has parsed the headers; without this pause SIGTERM may
      // win the race and the connection is (rightly) closed as idle.
      await new Promise((resolve) => setTimeout(resolve, 150));

      const exiting = system.stop('order');
      await eventually(async () => !(await accepts(system.baseUrl('order'))), { what: 'the order service to stop accepting connections' });
      const answer = await inFlight.end(body.slice(10));

      // The customer keeps polling on the same connection, as a browser would.
      const deadline = Date.now() + 12_000;
      while (system.isRunning('order') && Date.now() < deadline) {
        await openRequest(agent, `${base}/healthz`, 'GET').end().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const exit = await exiting;

      expect(answer.status).toBe(202);
      expect({ code: exit.code, signal: exit.signal }).toEqual({ code: 0, signal: null });
      expect(exit.ms).toBeLessThan(5000);
    } finally {
      agent.destroy();
      if (!system.isRunning('order')) await system.start('order'); // for the next test, whatever this one found
    }
  });

  it('when each service gets SIGTERM, then it exits with code 0 within a few seconds', async () => {
    const { system } = env;
    expect(SERVICES.filter((s) => !system.isRunning(s))).toEqual([]);

    const exits = await Promise.all(SERVICES.map((s) => system.stop(s, 'SIGTERM')));

    for (const [i, exit] of exits.entries()) {
      expect({ service: SERVICES[i], code: exit.code, signal: exit.signal }).toEqual({ service: SERVICES[i], code: 0, signal: null });
      expect(exit.ms, `${SERVICES[i]} took ${exit.ms} ms to exit`).toBeLessThan(5000);
    }
  });
});

/** An HTTP request sent through `agent` whose body is written by the caller, in parts. */
function openRequest(agent: Agent, url: string, method: string, body = '') {
  const req = request(url, {
    agent,
    method,
    headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {},
  });
  const response = new Promise<{ status: number }>((resolve, reject) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
  });
  response.catch(() => undefined); // handled by whoever awaits `end`; never unhandled meanwhile
  return {
    write: (chunk: string) => req.write(chunk),
    end: (chunk?: string) => {
      req.end(chunk);
      return response;
    },
  };
}

/** Whether a new TCP connection to the service is accepted. */
function accepts(baseUrl: string): Promise<boolean> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
