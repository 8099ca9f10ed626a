import {
  deadLetterCountSchema,
  failedAttemptListSchema,
  gatewayLedgerSchema,
  orderViewSchema,
  readinessSchema,
  stockLevelSchema,
  type MapService,
  type MapSubscription,
  type ObserverInvariant,
  type ObserverInvariants,
  type ObserverMap,
  type ServiceChecks,
} from '@troupe/contracts';
import type { ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { QueueDepth } from './broker/watch';
import type { Choreography } from './domain/choreography';
import type { Config } from './config';
import { DriftLog } from './domain/drift';
import { OrderWindow, type OrderTrack } from './domain/orders';
import { chargeProblem, inconsistencies, isPaid, readyForConsistency, settleState } from './domain/rules';
import { StockWatch, type StockReading } from './domain/stock';
import { Traffic } from './domain/traffic';
import { violationId, Violations } from './domain/violations';
import { readMessage } from './message';
import type { ObserverMetrics } from './metrics';
import type { Reached, Reads } from './reads/upstream';

type Settings = Pick<
  Config,
  | 'OBSERVER_WINDOW_MS'
  | 'OBSERVER_MAX_ORDERS'
  | 'OBSERVER_SETTLE_WITHIN_MS'
  | 'OBSERVER_CONSISTENCY_GRACE_MS'
  | 'OBSERVER_EVENT_LAG_MS'
  | 'OBSERVER_LEDGER_RECHECK_MS'
  | 'OBSERVER_CHECK_INTERVAL_MS'
  | 'OBSERVER_READS_PER_CHECK'
  | 'OBSERVER_SILENCE_WINDOW_MS'
  | 'OBSERVER_SILENCE_MIN_ORDERS'
>;

export interface ObserverDeps {
  settings: Settings;
  choreography: Choreography;
  reads: Reads;
  /** The queues' depths, by passive declare. */
  depth: (queue: string) => Promise<QueueDepth | undefined>;
  metrics: ObserverMetrics;
  logger: Logger;
  now?: () => number;
}

type Subscriptions = ServiceChecks['subscriptions'];

/** What a service last said of itself. */
interface ServiceState {
  ready: boolean | null;
  deadLetters: number | null;
  subscriptions: Subscriptions | undefined;
}

/** Reads of the services' HTTP APIs left in one check: the observer's load on them stays bounded. */
class Budget {
  constructor(private left: number) {}
  take(n = 1): boolean {
    if (this.left < n) return false;
    this.left -= n;
    return true;
  }
}

const isService = (name: string): name is Exclude<Reached, 'gateway'> => ['order', 'payment', 'inventory', 'notification'].includes(name);

/**
 * The observer's state and its rounds: every message off the exchanges goes into the traffic and
 * the window of orders as it arrives (`onMessage`); every check interval, a round reads the
 * services (readiness, dead letters, queue depths) and holds the window to the invariants,
 * reading what a rule needs (failed attempts, the ledger, stock) within a budget of reads.
 */
export class Observer {
  readonly drift = new DriftLog();
  private readonly traffic: Traffic;
  private readonly orders: OrderWindow;
  readonly violations: Violations;
  private readonly stock = new Map<string, StockWatch>();
  private readonly readings = new Map<string, StockReading>();
  private readonly services = new Map<string, ServiceState>();
  private readonly depths = new Map<string, QueueDepth | undefined>();
  private readonly now: () => number;
  private checkedAtMs: number;

  constructor(private readonly deps: ObserverDeps) {
    this.now = deps.now ?? Date.now;
    const { settings, choreography, metrics } = deps;
    this.checkedAtMs = this.now();
    this.traffic = new Traffic(choreography, this.drift, { windowMs: settings.OBSERVER_SILENCE_WINDOW_MS, minOrders: settings.OBSERVER_SILENCE_MIN_ORDERS }, this.now());
    this.orders = new OrderWindow(settings.OBSERVER_WINDOW_MS, settings.OBSERVER_MAX_ORDERS);
    this.violations = new Violations((invariant) => metrics.found.inc({ invariant }));
  }

  /** The services the document names, producers and subscribers alike. */
  private serviceNames(): string[] {
    const { choreography } = this.deps;
    return [...new Set([...choreography.exchanges.map((e) => e.producer), ...choreography.subscriptions.map((s) => s.service)])].filter((name) => name !== 'unknown');
  }

  onMessage(exchange: string, message: ConsumeMessage): void {
    const atMs = this.now();
    const { seen, event } = readMessage(exchange, message, atMs);
    const verdict = this.traffic.record(seen);
    // Undeclared types past the traffic's bound share one label: a sender of random types cannot grow the series without end.
    this.deps.metrics.messages.inc({ exchange, type: this.traffic.tracks(exchange, seen.type) ? seen.type : 'other', declared: String(verdict === 'declared') });
    // The invariants judge what the contract declares; the rest is drift.
    if (verdict !== 'declared' || !event) return;
    const { track, isNew } = this.orders.add(event, atMs);
    if (!isNew) return;
    if (event.type === 'InventoryReserved') {
      for (const item of event.items ?? []) this.stockWatch(item.sku).reservedSeen(item.quantity, atMs);
    }
    if (event.type === 'PaymentCompleted') track.ledgerDueAtMs ??= atMs;
  }

  private stockWatch(sku: string): StockWatch {
    let watch = this.stock.get(sku);
    if (!watch) this.stock.set(sku, (watch = new StockWatch(sku, this.deps.settings.OBSERVER_EVENT_LAG_MS)));
    return watch;
  }

  /** One round: the services' state, then the invariants, then drift and the window's edge. */
  async check(): Promise<void> {
    const budget = new Budget(this.deps.settings.OBSERVER_READS_PER_CHECK);
    await this.readServices();
    const nowMs = this.now();
    await Promise.all([this.checkOrders(nowMs, budget), this.checkStock(budget)]);
    this.traffic.noteSilence(this.now());
    this.noteUndeclaredSubscriptions();
    for (const gone of this.orders.prune(this.now(), (orderId) => this.violations.concerns(orderId))) {
      for (const violation of this.violations.list()) if (violation.orderId === gone.orderId) this.violations.clear(violation.id);
      this.violations.forgetOrder(gone.orderId);
    }
    this.checkedAtMs = this.now();
  }

  private async readServices(): Promise<void> {
    const { reads } = this.deps;
    await Promise.all(
      this.serviceNames().map(async (name) => {
        if (!isService(name)) return this.services.set(name, { ready: null, deadLetters: null, subscriptions: undefined });
        const [readiness, deadLetters] = await Promise.all([
          reads.get(name, '/readyz', readinessSchema, { statuses: [200, 503] }),
          reads.hasOperatorToken ? reads.get(name, '/dead-letters/count', deadLetterCountSchema, { operator: true }) : undefined,
        ]);
        const checks = readiness?.body.checks;
        this.services.set(name, {
          ready: readiness ? readiness.status === 200 : null,
          deadLetters: deadLetters?.body.count ?? null,
          subscriptions: checks && 'subscriptions' in checks ? checks.subscriptions : undefined,
        });
      }),
    );
    const queues = new Set([...this.deps.choreography.subscriptions.map((s) => s.queue), ...[...this.services.values()].flatMap((s) => (s.subscriptions ?? []).map((r) => r.queue))]);
    await Promise.all([...queues].map(async (queue) => this.depths.set(queue, await this.deps.depth(queue))));
  }

  private async checkOrders(nowMs: number, budget: Budget): Promise<void> {
    const { settings } = this.deps;
    for (const track of [...this.orders.all()]) {
      await this.checkSettles(track, nowMs, budget);
      const consistency = violationId('events-consistent', track.orderId);
      if (readyForConsistency(track, nowMs, settings.OBSERVER_CONSISTENCY_GRACE_MS)) {
        const problems = inconsistencies(track);
        if (problems.length === 0) this.violations.clear(consistency);
        else await this.report(track, 'events-consistent', problems.join('; '), budget);
      }
      if (isPaid(track) && track.ledgerDueAtMs !== undefined && track.ledgerDueAtMs <= nowMs && budget.take()) {
        track.ledgerDueAtMs = nowMs + settings.OBSERVER_LEDGER_RECHECK_MS;
        const ledger = await this.deps.reads.get('gateway', `/ledger?orderId=${encodeURIComponent(track.orderId)}`, gatewayLedgerSchema, { operator: true });
        if (!ledger) continue;
        const problem = chargeProblem(ledger.body.entries.filter((e) => e.kind === 'charge' && e.outcome === 'approved').length);
        if (problem) await this.report(track, 'one-charge-per-paid-order', problem, budget);
        else this.violations.clear(violationId('one-charge-per-paid-order', track.orderId));
      }
    }
  }

  /** `order-settles`, unless one of the order's messages waits in a dead-letter queue (an operator's to replay). */
  private async checkSettles(track: OrderTrack, nowMs: number, budget: Budget): Promise<void> {
    const { settings } = this.deps;
    const id = violationId('order-settles', track.orderId);
    const state = settleState(track, nowMs, settings.OBSERVER_SETTLE_WITHIN_MS);
    if (state === 'settled') return this.violations.clear(id);
    if (state !== 'overdue' || (track.deadLetterDueAtMs ?? 0) > nowMs) return;
    const services = this.serviceNames().filter(isService);
    if (!budget.take(services.length)) return;
    track.deadLetterDueAtMs = nowMs + Math.max(settings.OBSERVER_CHECK_INTERVAL_MS, 1000);
    const attempts = await Promise.all(
      services.map((service) => this.deps.reads.get(service, `/failed-attempts?orderId=${encodeURIComponent(track.orderId)}`, failedAttemptListSchema, { operator: true })),
    );
    const waiting = attempts.flatMap((list) => {
      // The latest attempt at each event on each queue: dead-lettered and not replayed since, it waits in the DLQ.
      const latest = new Map<string, { outcome: string; queue: string }>();
      for (const attempt of list?.body.failedAttempts ?? []) latest.set(`${attempt.queue}/${attempt.eventId}`, attempt);
      return [...latest.values()].filter((a) => a.outcome === 'dead-lettered').map((a) => a.queue);
    });
    if (waiting.length > 0) return this.violations.clear(id);
    const waited = Math.round((nowMs - (track.placedAtMs ?? nowMs)) / 1000);
    const seen = [...new Set([...track.events.values()].map((e) => e.type))].join(', ');
    await this.report(track, 'order-settles', `not COMPLETED or CANCELLED ${waited} s after OrderPlaced (bound ${settings.OBSERVER_SETTLE_WITHIN_MS} ms); events seen: ${seen}; nothing of it waits in a dead-letter queue`, budget);
  }

  private async report(track: OrderTrack, invariant: ObserverInvariant, detail: string, budget: Budget): Promise<void> {
    const id = violationId(invariant, track.orderId);
    // Asked once per order; a round short of reads leaves it to the next one, which reports again.
    if (track.traceId === undefined && budget.take()) {
      const order = await this.deps.reads.get('order', `/orders/${encodeURIComponent(track.orderId)}`, orderViewSchema);
      if (order) track.traceId = order.body.traceId;
    }
    this.violations.report({ id, invariant, orderId: track.orderId, ...(track.traceId ? { traceId: track.traceId } : {}), detail }, new Date(this.now()));
  }

  private async checkStock(budget: Budget): Promise<void> {
    for (const watch of this.stock.values()) {
      const id = violationId('stock-matches', watch.sku);
      const reading = this.readings.get(watch.sku);
      if (reading) {
        const verdict = watch.judge(reading, this.now());
        if (verdict.state === 'waiting') continue;
        this.readings.delete(watch.sku);
        if (verdict.state === 'agrees') this.violations.clear(id);
        if (verdict.state === 'mismatch' && verdict.confirmed) {
          const [low, high] = verdict.expected;
          this.violations.report(
            { id, invariant: 'stock-matches', sku: watch.sku, detail: `inventory reports ${verdict.reserved} reserved; the InventoryReserved seen put it at ${low === high ? low : `${low}-${high}`}` },
            new Date(this.now()),
          );
        }
        continue;
      }
      if (!watch.hasBaseline && !watch.quietAt(this.now())) continue;
      if (!budget.take()) return;
      const seenBefore = watch.seen;
      const atMs = this.now();
      const level = await this.deps.reads.get('inventory', `/stock/${encodeURIComponent(watch.sku)}`, stockLevelSchema);
      if (level) this.readings.set(watch.sku, { reserved: level.body.reserved, seenBefore, atMs });
    }
  }

  /** A queue a service reports that the contract does not list for it. */
  private noteUndeclaredSubscriptions(): void {
    const at = new Date(this.now());
    for (const [service, state] of this.services) {
      for (const reported of state.subscriptions ?? []) {
        const exchange = reported.exchange ?? (reported.queue.startsWith(`${service}.`) ? reported.queue.slice(service.length + 1) : '?');
        if (this.isDeclared(service, exchange, reported.queue)) continue;
        this.drift.state({ kind: 'undeclared-subscription', exchange, queue: reported.queue }, at, 1);
      }
    }
  }

  private isDeclared(service: string, exchange: string, queue: string): boolean {
    return this.deps.choreography.subscriptions.some((s) => s.service === service && s.exchange === exchange && s.queue === queue);
  }

  /** The map; `samples`: with the drift entries' message bodies (the admin token's read alone). */
  map({ samples }: { samples: boolean }): ObserverMap {
    const nowMs = this.now();
    const { choreography, settings } = this.deps;
    const services: MapService[] = this.serviceNames().map((name) => {
      const state = this.services.get(name);
      return { name, ready: state?.ready ?? null, deadLetters: state?.deadLetters ?? null };
    });
    const reported = (service: string, queue: string) => this.services.get(service)?.subscriptions?.find((s) => s.queue === queue);
    const subscription = (service: string, exchange: string, queue: string): MapSubscription => {
      const report = reported(service, queue);
      const depth = this.depths.get(queue);
      const answered = this.services.get(service)?.subscriptions !== undefined;
      return {
        queue,
        service,
        exchange,
        declared: this.isDeclared(service, exchange, queue),
        ready: depth?.ready ?? null,
        unacked: report?.unacked ?? null,
        consuming: report ? report.consuming : answered ? false : null,
        pausedBy: report?.pausedBy ?? [],
        consumers: depth?.consumers ?? null,
      };
    };
    const declared = choreography.subscriptions.map((s) => subscription(s.service, s.exchange, s.queue));
    const extra = [...this.services].flatMap(([service, state]) =>
      (state.subscriptions ?? [])
        .filter((r) => !declared.some((d) => d.queue === r.queue))
        .map((r) => subscription(service, r.exchange ?? (r.queue.startsWith(`${service}.`) ? r.queue.slice(service.length + 1) : '?'), r.queue)),
    );
    return {
      generatedAt: new Date(nowMs).toISOString(),
      windowMs: settings.OBSERVER_WINDOW_MS,
      services,
      exchanges: choreography.exchanges.map((e) => ({ ...e, declared: true })),
      edges: this.traffic.edges(nowMs),
      subscriptions: [...declared, ...extra],
      drift: this.drift.list().map(({ sample, ...entry }) => (samples && sample !== undefined ? { ...entry, sample } : entry)),
      ordersPerMinute: this.traffic.ordersPerMinute(nowMs),
    };
  }

  invariants(): ObserverInvariants {
    const { settings } = this.deps;
    return {
      checkedAt: new Date(this.checkedAtMs).toISOString(),
      settleWithinMs: settings.OBSERVER_SETTLE_WITHIN_MS,
      windowMs: settings.OBSERVER_WINDOW_MS,
      open: this.violations.list(),
      found: this.violations.foundCounts(),
      stock: [...this.stock.values()].map((watch) => ({
        sku: watch.sku,
        reservedSeen: watch.seen,
        baselineTaken: watch.hasBaseline,
        lastJudgedAt: watch.lastJudgedAtMs === undefined ? null : new Date(watch.lastJudgedAtMs).toISOString(),
      })),
      orders: this.orders.size,
    };
  }
}
