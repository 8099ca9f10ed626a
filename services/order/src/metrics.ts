import { METRIC } from '@troupe/contracts';
import { Counter, Histogram, type Registry } from 'prom-client';
import type { Transition } from './domain/track-order';

/** The workflow as the order service sees it: what was placed, how it ended, how long it took. */
export function createOrderMetrics(registry: Registry) {
  const registers = [registry];
  const placed = new Counter({ name: METRIC.ordersPlaced, help: 'Orders accepted by POST /orders.', registers });
  const completed = new Counter({ name: METRIC.ordersCompleted, help: 'Orders that reached COMPLETED.', registers });
  const cancelled = new Counter({ name: METRIC.ordersCancelled, help: 'Orders that reached CANCELLED.', registers });
  const completion = new Histogram({
    name: METRIC.orderCompletion,
    help: 'Time from an order being placed to its terminal status, by outcome.',
    labelNames: ['status'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers,
  });
  const shed = new Counter({
    name: METRIC.orderRequestsShed,
    help: 'POST /orders refused with 503 after waiting ORDER_MAX_QUEUE_WAIT_MS for a turn.',
    registers,
  });
  const queueWait = new Histogram({
    name: METRIC.orderRequestQueue,
    help: 'How long each admitted POST /orders waited for its turn.',
    buckets: [0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
    registers,
  });
  const transaction = new Histogram({
    name: METRIC.orderTransaction,
    help: 'POST /orders requests whose work ran in one transaction (the requests that arrived together; every attempt counts).',
    buckets: [1, 2, 5, 10, 20, 50, 100],
    registers,
  });
  return {
    /** An order was accepted (call once its transaction committed). */
    orderPlaced: (): void => placed.inc(),
    /** A POST /orders was refused for waiting too long for its turn. */
    requestShed: (): void => shed.inc(),
    /** A POST /orders got its turn after waiting this long. */
    requestAdmitted: (waitSeconds: number): void => queueWait.observe(waitSeconds),
    /** A transaction started for this many POST /orders requests. */
    sharedTransaction: (requests: number): void => transaction.observe(requests),
    /** Counts an order reaching a terminal status (once: a terminal status never changes). */
    transitioned({ from, to, placedAt }: Transition): void {
      if (from === to || (to !== 'COMPLETED' && to !== 'CANCELLED')) return;
      (to === 'COMPLETED' ? completed : cancelled).inc();
      completion.observe({ status: to }, (Date.now() - placedAt.getTime()) / 1000);
    },
  };
}

export type OrderMetrics = ReturnType<typeof createOrderMetrics>;
