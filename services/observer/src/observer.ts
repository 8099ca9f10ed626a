import {
  deadLetterCountSchema,
  gatewayLedgerSchema,
  orderViewSchema,
  readinessSchema,
  SERVICES,
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
import { DriftLog, type DriftKey } from './domain/drift';
import { OrderWindow, type OrderTrack } from './domain/orders';
import { chargeProblem, consistency, settleState } from './domain/rules';
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

/** What a round reads of the services, for the count of reads put off. */
type ReadKind = 'ledger' | 'dead-letters' | 'stock' | 'trace';

/**
 * Reads of the services' HTTP APIs left in one round: the observer's load on them stays bounded.
 * A read refused is put off to a later round, and counted (`onDeferred`).
 */
class Budget {
  constructor(
    private left: number,
    private readonly onDeferred: (read: ReadKind, count: number) => void,
  ) {}
  /** The first of `wanted` the budget has room for, at `cost` reads each; the rest are put off. */
  take<T>(read: ReadKind, wanted: T[], cost = 1): T[] {
    const n = Math.min(wanted.length, Math.floor(this.left / cost));
    this.left -= n * cost;
    if (n < wanted.length) this.onDeferred(read, wanted.length - n);
    return wanted.slice(0, n);
  }
}

/** The reads a round's pass over the window found due. */
interface Due {
  firstLedgers: OrderTrack[];
  overdue: OrderTrack[];
  ledgerRechecks: OrderTrack[];
  traces: OrderTrack[];
}

/** A wait that doubles with each try, from `baseMs` up to `maxMs`. */
const backoff = (tries: number, baseMs: number, maxMs: number): number => Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(tries - 1, 0), 20));

const isService = (name: string): name is Exclude<Reached, 'gateway'> => (SERVICES as readonly string[]).includes(name);

/** The exchange a service reports a subscription on; from the queue's name (`<service>.<exchange>`) for a replica that says none. */
const exchangeOfReport = (service: string, reported: { queue: string; exchange?: string }): string =>
  reported.exchange ?? (reported.queue.startsWith(`${service}.`) ? reported.queue.slice(service.length + 1) : '?');

/**
 * The observer's state and its rounds: every message off the exchanges goes into the traffic and
 * the window of orders as it arrives (`onMessage`); every check interval, a round reads the
 * services (readiness, dead letters, queue depths) and holds the window to the invariants,
 * reading what a rule needs (dead letters kept, the ledger, stock) within a budget of reads.
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
  /** What each service last reported of its subscriptions, for a round in which it does not answer. */
  private readonly undeclaredReported = new Map<string, Subscriptions>();
  private readonly now: () => number;
  private checkedAtMs: number;
  /** The services the document names, producers and subscribers alike (the document does not change). */
  private readonly serviceNames: string[];

  constructor(private readonly deps: ObserverDeps) {
    this.now = deps.now ?? Date.now;
    const { settings, choreography, metrics } = deps;
    this.checkedAtMs = this.now();
    this.traffic = new Traffic(choreography, this.drift, { windowMs: settings.OBSERVER_SILENCE_WINDOW_MS, minOrders: settings.OBSERVER_SILENCE_MIN_ORDERS }, this.now());
    this.violations = new Violations((invariant) => metrics.found.inc({ invariant }));
    this.orders = new OrderWindow(settings.OBSERVER_WINDOW_MS, settings.OBSERVER_MAX_ORDERS, (orderId) => this.violations.concerns(orderId));
    this.serviceNames = [...new Set([...choreography.exchanges.map((e) => e.producer), ...choreography.subscriptions.map((s) => s.service)])].filter((name) => name !== 'unknown');
  }


  onMessage(exchange: string, message: ConsumeMessage): void {
    const atMs = this.now();
    const { seen, event } = readMessage(exchange, message, atMs);
    const verdict = this.traffic.record(seen);
    // Undeclared types past the traffic's bound share one label: a sender of random types cannot grow the series without end.
    this.deps.metrics.messages.inc({ exchange, type: this.traffic.tracks(exchange, seen.type) ? seen.type : 'other', declared: String(verdict === 'declared') });
    // The invariants judge what the contract declares; the rest is drift.
    if (verdict !== 'declared' || !event) return;
    const { track, isNew, evicted } = this.orders.add(event, atMs);
    if (evicted) this.forget(evicted);
    if (!isNew) return;
    if (event.type === 'InventoryReserved') {
      for (const item of event.items ?? []) this.stockWatch(item.sku).reservedSeen(item.quantity, atMs);
    }
    if (event.type === 'PaymentCompleted') track.ledgerDueAtMs ??= atMs;
  }

  /**
   * The broker watch saw nothing for a while (its start, a reconnect): orders under way may have
   * lost events in the gap, so their missing events prove nothing, and every SKU's baseline may
   * miss reservations: each is taken again.
   */
  onGap(resumedAtMs: number): void {
    this.orders.noteGap(resumedAtMs);
    for (const watch of this.stock.values()) watch.rebase(resumedAtMs);
    this.readings.clear();
    this.deps.logger.info({ orders: this.orders.size, skus: this.stock.size }, 'a gap in what the observer saw: the orders under way are seen in part, the stock baselines taken again');
  }

  /** An operator resolves a violation; a SKU's figure, mended, is judged again from a new baseline. False for no open one. */
  resolve(id: string): boolean {
    const resolved = this.violations.resolve(id);
    if (resolved?.sku !== undefined) {
      this.stock.get(resolved.sku)?.rebase(this.now());
      this.readings.delete(resolved.sku);
    }
    return resolved !== undefined;
  }

  /** An order leaves the window (pruned or evicted): its violations close with it. */
  private forget(track: OrderTrack): void {
    this.violations.forgetOrder(track.orderId);
  }

  private stockWatch(sku: string): StockWatch {
    let watch = this.stock.get(sku);
    if (!watch) this.stock.set(sku, (watch = new StockWatch(sku, this.deps.settings.OBSERVER_EVENT_LAG_MS)));
    return watch;
  }

  /**
   * One round: the services' state, then the invariants, then drift and the window's edge. The
   * reads the invariants need go in order of what is worse to miss: a paid order's first ledger
   * read (a double charge), then the overdue orders' dead letters, then the stock, then the ledgers
   * read again, then the traces of what was found.
   */
  async check(): Promise<void> {
    const budget = new Budget(this.deps.settings.OBSERVER_READS_PER_CHECK, (read, count) => this.deps.metrics.readsDeferred.inc({ read }, count));
    await this.readServices();
    const due = this.judgeOrders(this.now());
    await this.readLedgers(due.firstLedgers, budget);
    await this.readDeadLetters(due.overdue, budget);
    await this.checkStock(budget);
    await this.readLedgers(due.ledgerRechecks, budget);
    await this.readTraces(due.traces, budget);
    this.traffic.noteSilence(this.now());
    this.noteUndeclaredSubscriptions();
    for (const gone of this.orders.prune(this.now())) this.forget(gone);
    this.checkedAtMs = this.now();
  }

  private async readServices(): Promise<void> {
    const { reads } = this.deps;
    await Promise.all(
      this.serviceNames.map(async (name) => {
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

  /**
   * One pass over the window, with no wait in it: `order-settles` and `events-consistent` judged
   * from the events, and the reads due collected (an order's events cannot change under it).
   */
  private judgeOrders(nowMs: number): Due {
    const { settings } = this.deps;
    const due: Due = { firstLedgers: [], overdue: [], ledgerRechecks: [], traces: [] };
    for (const track of this.orders.all()) {
      const state = settleState(track, nowMs, settings.OBSERVER_SETTLE_WITHIN_MS);
      // Unjudged: seen in part after a gap, the observer can no longer tell whether it settled.
      if (state === 'settled' || state === 'unjudged') this.violations.clear(violationId('order-settles', track.orderId));
      else if (state === 'overdue' && (track.deadLetterDueAtMs ?? 0) <= nowMs) due.overdue.push(track);
      this.judgeConsistency(track, nowMs);
      if (track.ledgerDueAtMs !== undefined && track.ledgerDueAtMs <= nowMs) (track.ledgerChecks ? due.ledgerRechecks : due.firstLedgers).push(track);
      if (track.traceId === undefined && this.violations.concerns(track.orderId)) due.traces.push(track);
    }
    return due;
  }

  /** `events-consistent`, judged again only when an event has arrived since its last full judgement. */
  private judgeConsistency(track: OrderTrack, nowMs: number): void {
    const { settings } = this.deps;
    if (track.consistencyJudgedAtMs === track.lastEventAtMs) return;
    const verdict = consistency(track, nowMs, { graceMs: settings.OBSERVER_CONSISTENCY_GRACE_MS, settleWithinMs: settings.OBSERVER_SETTLE_WITHIN_MS });
    if (!verdict) return;
    const id = violationId('events-consistent', track.orderId);
    if (verdict.problems.length > 0) this.report(track, 'events-consistent', verdict.problems.join('; '));
    else if (verdict.holds) this.violations.clear(id);
    // Every rule judged (or all holding): nothing changes until another event arrives.
    if (verdict.holds || nowMs - Math.max(track.settledAtMs ?? 0, track.lastEventAtMs) >= settings.OBSERVER_SETTLE_WITHIN_MS) track.consistencyJudgedAtMs = track.lastEventAtMs;
  }

  /**
   * `one-charge-per-paid-order`: a paid order's ledger, read at PaymentCompleted and again while it
   * is in the window, the wait doubling from `OBSERVER_LEDGER_RECHECK_MS` (a charge made again, by
   * a redelivery or a replayed dead letter, can come long after the order settled, but most come
   * soon); a read that finds no answer or a problem is tried again after `OBSERVER_LEDGER_RECHECK_MS`.
   */
  private async readLedgers(tracks: OrderTrack[], budget: Budget): Promise<void> {
    const { settings } = this.deps;
    const taken = budget.take('ledger', tracks);
    await Promise.all(
      taken.map(async (track) => {
        const ledger = await this.deps.reads.get('gateway', `/ledger?orderId=${encodeURIComponent(track.orderId)}`, gatewayLedgerSchema, { operator: true });
        const nowMs = this.now();
        const problem = ledger && chargeProblem(ledger.body.entries.filter((e) => e.kind === 'charge' && e.outcome === 'approved').length);
        if (!ledger || problem) {
          track.ledgerDueAtMs = nowMs + settings.OBSERVER_LEDGER_RECHECK_MS;
          if (problem) this.report(track, 'one-charge-per-paid-order', problem);
          return;
        }
        this.violations.clear(violationId('one-charge-per-paid-order', track.orderId));
        track.ledgerChecks = (track.ledgerChecks ?? 0) + 1;
        track.ledgerDueAtMs = nowMs + backoff(track.ledgerChecks, settings.OBSERVER_LEDGER_RECHECK_MS, settings.OBSERVER_WINDOW_MS);
      }),
    );
  }

  /**
   * `order-settles` for the overdue orders: each is reported unless one of its messages waits in a
   * dead-letter queue (an operator's to replay). Asked again, backing off, while it stays overdue;
   * the rule is judged again after the reads, so an order that settled meanwhile is not reported.
   */
  private async readDeadLetters(tracks: OrderTrack[], budget: Budget): Promise<void> {
    const { settings } = this.deps;
    const services = this.serviceNames.filter(isService);
    const taken = budget.take('dead-letters', tracks, services.length);
    await Promise.all(
      taken.map(async (track) => {
        const counts = await Promise.all(
          services.map((service) => this.deps.reads.get(service, `/dead-letters/count?orderId=${encodeURIComponent(track.orderId)}`, deadLetterCountSchema, { operator: true })),
        );
        const nowMs = this.now();
        track.deadLetterChecks = (track.deadLetterChecks ?? 0) + 1;
        track.deadLetterDueAtMs = nowMs + backoff(track.deadLetterChecks, Math.max(settings.OBSERVER_CHECK_INTERVAL_MS, 1000), settings.OBSERVER_SETTLE_WITHIN_MS);
        const id = violationId('order-settles', track.orderId);
        // Kept in a service's dead letters now (not replayed, not purged): an operator's to mend.
        const waiting = counts.reduce((n, count) => n + (count?.body.count ?? 0), 0);
        if (waiting > 0 || settleState(track, nowMs, settings.OBSERVER_SETTLE_WITHIN_MS) !== 'overdue') return this.violations.clear(id);
        const waited = Math.round((nowMs - (track.placedAtMs ?? nowMs)) / 1000);
        const seen = [...new Set(track.events.values())].join(', ');
        this.report(track, 'order-settles', `not COMPLETED or CANCELLED ${waited} s after OrderPlaced (bound ${settings.OBSERVER_SETTLE_WITHIN_MS} ms); events seen: ${seen}; nothing of it waits in a dead-letter queue`);
      }),
    );
  }

  private report(track: OrderTrack, invariant: ObserverInvariant, detail: string): void {
    this.violations.report({ id: violationId(invariant, track.orderId), invariant, orderId: track.orderId, ...(track.traceId ? { traceId: track.traceId } : {}), detail }, new Date(this.now()));
  }

  /** The traceId of each order with an open violation, asked of the order service once (a round short of reads leaves it to the next). */
  private async readTraces(tracks: OrderTrack[], budget: Budget): Promise<void> {
    const taken = budget.take('trace', tracks);
    await Promise.all(
      taken.map(async (track) => {
        const order = await this.deps.reads.get('order', `/orders/${encodeURIComponent(track.orderId)}`, orderViewSchema);
        if (!order) return;
        track.traceId = order.body.traceId;
        if (order.body.traceId) this.violations.attachTrace(track.orderId, order.body.traceId);
      }),
    );
  }

  /** `stock-matches`: the readings whose lag has passed are judged, then the SKUs due are read (an unknown one, backing off). */
  private async checkStock(budget: Budget): Promise<void> {
    const { settings } = this.deps;
    const toRead: StockWatch[] = [];
    for (const watch of this.stock.values()) {
      const reading = this.readings.get(watch.sku);
      if (reading) {
        this.judgeStock(watch, reading);
        continue;
      }
      if (!watch.hasBaseline && !watch.quietAt(this.now())) continue;
      if ((watch.readDueAtMs ?? 0) > this.now()) continue;
      toRead.push(watch);
    }
    const taken = budget.take('stock', toRead);
    await Promise.all(
      taken.map(async (watch) => {
        const seenBefore = watch.seen;
        const sentAtMs = this.now();
        const level = await this.deps.reads.get('inventory', `/stock/${encodeURIComponent(watch.sku)}`, stockLevelSchema);
        const answeredAtMs = this.now();
        if (!level) {
          watch.readFailures = (watch.readFailures ?? 0) + 1;
          watch.readDueAtMs = answeredAtMs + backoff(watch.readFailures, Math.max(settings.OBSERVER_CHECK_INTERVAL_MS, 1000), 60_000);
          return;
        }
        watch.readFailures = 0;
        this.readings.set(watch.sku, { reserved: level.body.reserved, seenBefore, sentAtMs, answeredAtMs });
      }),
    );
  }

  private judgeStock(watch: StockWatch, reading: StockReading): void {
    const id = violationId('stock-matches', watch.sku);
    const verdict = watch.judge(reading, this.now());
    if (verdict.state === 'waiting') return;
    this.readings.delete(watch.sku);
    if (verdict.state === 'agrees') this.violations.clear(id);
    if (verdict.state === 'mismatch' && verdict.confirmed) {
      const [low, high] = verdict.expected;
      this.violations.report(
        { id, invariant: 'stock-matches', sku: watch.sku, detail: `inventory reports ${verdict.reserved} reserved; the InventoryReserved seen put it at ${low === high ? low : `${low}-${high}`}` },
        new Date(this.now()),
      );
    }
  }

  /**
   * A queue a service reports that the contract does not list for it: a state, drawn again every
   * round from what the services report, so a queue gone is no longer drift. A service that did
   * not answer this round keeps what it reported before (it is not known to be gone).
   */
  private noteUndeclaredSubscriptions(): void {
    const at = new Date(this.now());
    const current: DriftKey[] = [];
    for (const [service, state] of this.services) {
      for (const reported of state.subscriptions ?? this.undeclaredReported.get(service) ?? []) {
        const exchange = exchangeOfReport(service, reported);
        if (this.isDeclared(service, exchange, reported.queue)) continue;
        const key: DriftKey = { kind: 'undeclared-subscription', exchange, queue: reported.queue };
        current.push(key);
        this.drift.state(key, at, 1);
      }
      if (state.subscriptions) this.undeclaredReported.set(service, state.subscriptions);
    }
    this.drift.keepOnly('undeclared-subscription', current);
  }

  private isDeclared(service: string, exchange: string, queue: string): boolean {
    return this.deps.choreography.subscriptions.some((s) => s.service === service && s.exchange === exchange && s.queue === queue);
  }

  /** The map; `samples`: with the drift entries' message bodies (the admin token's read alone). */
  map({ samples }: { samples: boolean }): ObserverMap {
    const nowMs = this.now();
    const { choreography, settings } = this.deps;
    const services: MapService[] = this.serviceNames.map((name) => {
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
        .map((r) => subscription(service, exchangeOfReport(service, r), r.queue)),
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
