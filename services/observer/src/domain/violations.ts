import { OBSERVER_INVARIANTS, type ObserverInvariant, type Violation } from '@troupe/contracts';

export const violationId = (invariant: ObserverInvariant, subject: string): string => `${invariant}:${subject}`;

/**
 * The open violations, and how many of each invariant were found since the observer started. A
 * violation is found once, stays open until its rule holds again (`clear`) or an operator
 * resolves it (`resolve`); a resolved order's violation is not opened again while the order is in
 * the window, since what it found (a duplicate or forged event) stays there. A SKU's is not
 * remembered: its figure is judged afresh from a new baseline (the caller rebases it).
 */
export class Violations {
  private readonly open = new Map<string, Violation>();
  /** Open violations by order: every round asks of each order in the window. */
  private readonly openByOrder = new Map<string, number>();
  private readonly resolved = new Set<string>();
  private readonly found = Object.fromEntries(OBSERVER_INVARIANTS.map((name) => [name, 0])) as Record<ObserverInvariant, number>;

  /** `onFound`: told of each violation found, for the counter of found violations. */
  constructor(private readonly onFound: (invariant: ObserverInvariant) => void = () => undefined) {}

  /** Opens (or updates the detail of) a violation; a resolved one stays resolved. */
  report(violation: Omit<Violation, 'foundAt'>, at: Date): void {
    if (this.resolved.has(violation.id)) return;
    const existing = this.open.get(violation.id);
    if (existing) {
      Object.assign(existing, violation);
      return;
    }
    this.open.set(violation.id, { ...violation, foundAt: at.toISOString() });
    if (violation.orderId !== undefined) this.openByOrder.set(violation.orderId, (this.openByOrder.get(violation.orderId) ?? 0) + 1);
    this.found[violation.invariant] += 1;
    this.onFound(violation.invariant);
  }

  /** The rule holds again: the violation closes by itself. */
  clear(id: string): void {
    const violation = this.open.get(id);
    if (!violation) return;
    this.open.delete(id);
    const orderId = violation.orderId;
    if (orderId === undefined) return;
    const left = (this.openByOrder.get(orderId) ?? 1) - 1;
    if (left > 0) this.openByOrder.set(orderId, left);
    else this.openByOrder.delete(orderId);
  }

  /** The order's trace, learnt after its violations were found. */
  attachTrace(orderId: string, traceId: string): void {
    if (!this.openByOrder.has(orderId)) return;
    for (const violation of this.open.values()) if (violation.orderId === orderId) violation.traceId = traceId;
  }

  /** An operator marks it resolved: the violation resolved, undefined when no such one is open. */
  resolve(id: string): Violation | undefined {
    const violation = this.open.get(id);
    if (!violation) return undefined;
    this.clear(id);
    if (violation.orderId !== undefined) this.resolved.add(id);
    return violation;
  }

  /** Whether an order has any violation open (it then stays in the window). */
  concerns(orderId: string): boolean {
    return this.openByOrder.has(orderId);
  }

  /** The order left the window: its violations close, and what was resolved about it is forgotten. */
  forgetOrder(orderId: string): void {
    if (this.openByOrder.has(orderId)) for (const violation of [...this.open.values()]) if (violation.orderId === orderId) this.clear(violation.id);
    for (const invariant of OBSERVER_INVARIANTS) this.resolved.delete(violationId(invariant, orderId));
  }

  list(): Violation[] {
    return [...this.open.values()].map((v) => ({ ...v }));
  }

  foundCounts(): Record<ObserverInvariant, number> {
    return { ...this.found };
  }

  openCounts(): Record<ObserverInvariant, number> {
    const counts = Object.fromEntries(OBSERVER_INVARIANTS.map((name) => [name, 0])) as Record<ObserverInvariant, number>;
    for (const violation of this.open.values()) counts[violation.invariant] += 1;
    return counts;
  }
}
