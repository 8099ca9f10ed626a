import { DRIFT_SAMPLE_MAX_CHARS, type Drift, type DriftKind } from '@troupe/contracts';

/** What identifies one drift entry: its kind and where it was seen. */
export interface DriftKey {
  kind: DriftKind;
  exchange: string;
  type?: string;
  version?: number;
  queue?: string;
}

const keyOf = (key: DriftKey) => JSON.stringify([key.kind, key.exchange, key.type ?? null, key.version ?? null, key.queue ?? null]);

/**
 * What the observer saw that the contract does not say, since it started: each kind of deviation
 * once, with how often, when first and last, and the latest message's body (cut to 500
 * characters). Bounded: past `maxEntries` the least recently seen entry goes.
 */
export class DriftLog {
  private readonly entries = new Map<string, Drift>();

  constructor(private readonly maxEntries = 1_000) {}

  note(key: DriftKey, at: Date, sample?: string, count = 1): void {
    const id = keyOf(key);
    const seen = this.entries.get(id);
    const iso = at.toISOString();
    const entry: Drift = seen ?? { ...key, count: 0, firstSeenAt: iso, lastSeenAt: iso };
    entry.count += count;
    entry.lastSeenAt = iso;
    if (sample !== undefined) entry.sample = sample.slice(0, DRIFT_SAMPLE_MAX_CHARS);
    // Re-inserted: the Map's order is then the order of last sighting, oldest first.
    this.entries.delete(id);
    this.entries.set(id, entry);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
  }

  /** An entry that describes a state (an edge silent): `count` replaces the last one, `firstSeenAt` stays. */
  state(key: DriftKey, at: Date, count: number): void {
    const seen = this.entries.get(keyOf(key));
    this.note(key, at, undefined, count - (seen?.count ?? 0));
  }

  /** Forgets an entry that describes a state which has ended (an edge no longer silent). */
  forget(key: DriftKey): void {
    this.entries.delete(keyOf(key));
  }

  /** Forgets every entry of `kind` but those `current` names: a state entry no longer true (a queue gone). */
  keepOnly(kind: DriftKind, current: DriftKey[]): void {
    const kept = new Set(current.map(keyOf));
    for (const [id, entry] of this.entries) if (entry.kind === kind && !kept.has(id)) this.entries.delete(id);
  }

  has(key: DriftKey): boolean {
    return this.entries.has(keyOf(key));
  }

  list(): Drift[] {
    return [...this.entries.values()].map((entry) => ({ ...entry }));
  }

  countByKind(): Record<DriftKind, number> {
    const counts = { 'undeclared-type': 0, 'unknown-version': 0, 'undeclared-subscription': 0, 'silent-edge': 0 };
    for (const entry of this.entries.values()) counts[entry.kind] += 1;
    return counts;
  }
}
