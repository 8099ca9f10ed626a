import { OBSERVER_INVARIANTS, type ObserverInvariant, type Violation } from '@troupe/contracts';

export const violationId = (invariant: ObserverInvariant, subject: string): string => `${invariant}:${subject}`;

/**
 * The open violations, and how many of each invariant were found since the observer started. A
 * violation is found once, stays open until its rule holds again (`clear`) or an operator
 * resolves it (`resolve`); a resolved one is not opened again for the same subject, since what it
 * found (a duplicate or forged event) stays in the window.
 */
export class Violations {
  private readonly open = new Map<string, Violation>();
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
    this.found[violation.invariant] += 1;
    this.onFound(violation.invariant);
  }

  /** The rule holds again: the violation closes by itself. */
  clear(id: string): void {
    this.open.delete(id);
  }

  /** An operator marks it resolved; false when no such violation is open. */
  resolve(id: string): boolean {
    if (!this.open.has(id)) return false;
    this.clear(id);
    this.resolved.add(id);
    return true;
  }

  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  /** Whether an order has any violation open (it then stays in the window). */
  concerns(orderId: string): boolean {
    for (const violation of this.open.values()) if (violation.orderId === orderId) return true;
    return false;
  }

  /** The order left the window: what was resolved about it can be forgotten. */
  forgetOrder(orderId: string): void {
    for (const id of this.resolved) if (id.endsWith(`:${orderId}`)) this.resolved.delete(id);
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
