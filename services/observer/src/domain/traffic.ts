import type { MapEdge } from '@troupe/contracts';
import { edgeId, type Choreography } from './choreography';
import type { DriftLog } from './drift';
import { SlidingCount } from './rate';

/** One message seen on an exchange, as far as the observer reads it. */
export interface Seen {
  exchange: string;
  /** The envelope's `type` (else the AMQP `type` property; `(none)` without either). */
  type: string;
  version: number | undefined;
  /** The body as text, for a drift sample. */
  body: string;
  atMs: number;
}

/** What the contract says of a message on an exchange. */
export type Verdict = 'declared' | 'undeclared-type' | 'unknown-version';

const MINUTE_MS = 60_000;
const key = (exchange: string, type: string) => `${exchange}\u0000${type}`;

export interface SilenceRule {
  /** No message of a declared type for this long… */
  windowMs: number;
  /** …while at least this many orders were placed in it, is silence. */
  minOrders: number;
}

/**
 * The traffic on the exchanges, held against the choreography: per exchange and event type, the
 * messages of the last minute and the last one's time; what the contract does not carry goes to
 * the drift log. Silence is judged against the orders placed (OrderPlaced seen) in its window.
 */
export class Traffic {
  private readonly perMinute = new Map<string, SlidingCount>();
  private readonly lastSeen = new Map<string, number>();
  private readonly orders: SlidingCount;
  private readonly ordersLastMinute = new SlidingCount(MINUTE_MS);
  /** Undeclared types seen per exchange: they get an edge to each of its subscribers. */
  private readonly undeclared = new Map<string, Set<string>>();

  constructor(
    private readonly choreography: Choreography,
    private readonly drift: DriftLog,
    private readonly silence: SilenceRule,
    private readonly startedAtMs: number,
    /** Most undeclared types remembered per exchange (each one an edge per subscriber). */
    private readonly maxUndeclaredTypes = 20,
  ) {
    this.orders = new SlidingCount(silence.windowMs);
  }

  record(seen: Seen): Verdict {
    const { exchange, type, atMs } = seen;
    const at = new Date(atMs);
    const carried = this.choreography.carries.get(exchange);
    const versions = carried?.get(type);
    let verdict: Verdict = 'declared';
    if (!versions) {
      verdict = 'undeclared-type';
      this.drift.note({ kind: 'undeclared-type', exchange, type }, at, seen.body);
      const types = this.undeclared.get(exchange) ?? new Set<string>();
      if (types.size < this.maxUndeclaredTypes) types.add(type);
      this.undeclared.set(exchange, types);
    } else if (seen.version === undefined || !versions.has(seen.version)) {
      verdict = 'unknown-version';
      this.drift.note({ kind: 'unknown-version', exchange, type, ...(seen.version === undefined ? {} : { version: seen.version }) }, at, seen.body);
    }
    const k = key(exchange, type);
    if (verdict !== 'undeclared-type' || this.undeclared.get(exchange)?.has(type)) {
      let counter = this.perMinute.get(k);
      if (!counter) this.perMinute.set(k, (counter = new SlidingCount(MINUTE_MS)));
      counter.add(atMs);
      this.lastSeen.set(k, Math.max(this.lastSeen.get(k) ?? 0, atMs));
    }
    if (type === 'OrderPlaced' && verdict === 'declared') {
      this.orders.add(atMs);
      this.ordersLastMinute.add(atMs);
    }
    return verdict;
  }

  /** Whether the traffic keeps counts for this type on this exchange (declared, or among the undeclared ones remembered). */
  tracks(exchange: string, type: string): boolean {
    return this.choreography.carries.get(exchange)?.has(type) === true || this.undeclared.get(exchange)?.has(type) === true;
  }

  ordersPerMinute(nowMs: number): number {
    return this.ordersLastMinute.count(nowMs);
  }

  /** The declared edges with their traffic, then one edge per subscriber for each undeclared type seen. */
  edges(nowMs: number): MapEdge[] {
    const ordersInWindow = this.orders.count(nowMs);
    const declared = this.choreography.edges.map((edge): MapEdge => {
      const k = key(edge.exchange, edge.type);
      const last = this.lastSeen.get(k);
      const quietSince = last ?? this.startedAtMs;
      const silent = nowMs - quietSince >= this.silence.windowMs && ordersInWindow >= this.silence.minOrders;
      return { ...edge, declared: true, perMinute: this.perMinute.get(k)?.count(nowMs) ?? 0, lastSeenAt: last === undefined ? null : new Date(last).toISOString(), silent };
    });
    const undeclared = [...this.undeclared].flatMap(([exchange, types]) =>
      [...types].flatMap((type) =>
        this.choreography.subscriptions
          .filter((s) => s.exchange === exchange)
          .map((s): MapEdge => {
            const k = key(exchange, type);
            const last = this.lastSeen.get(k);
            return {
              id: edgeId(exchange, type, s.service),
              exchange,
              producer: this.choreography.exchanges.find((e) => e.name === exchange)?.producer ?? 'unknown',
              type,
              subscriber: s.service,
              queue: s.queue,
              declared: false,
              perMinute: this.perMinute.get(k)?.count(nowMs) ?? 0,
              lastSeenAt: last === undefined ? null : new Date(last).toISOString(),
              silent: false,
            };
          }),
      ),
    );
    return [...declared, ...undeclared];
  }

  /**
   * Notes each silent declared type in the drift log (counting the orders placed meanwhile), and
   * forgets the ones that spoke again: silence is a state, not a history.
   */
  noteSilence(nowMs: number): void {
    const ordersInWindow = this.orders.count(nowMs);
    const seen = new Set<string>();
    for (const edge of this.edges(nowMs)) {
      if (!edge.declared || seen.has(key(edge.exchange, edge.type))) continue;
      seen.add(key(edge.exchange, edge.type));
      const driftKey = { kind: 'silent-edge' as const, exchange: edge.exchange, type: edge.type };
      if (!edge.silent) {
        this.drift.forget(driftKey);
        continue;
      }
      // `count`: the orders placed in the window while the type stayed silent.
      this.drift.state(driftKey, new Date(nowMs), ordersInWindow);
    }
  }
}
