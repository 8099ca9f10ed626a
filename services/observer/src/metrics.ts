import { METRIC, OBSERVER_INVARIANTS, type DriftKind, type ObserverInvariant } from '@troupe/contracts';
import { Counter, Gauge, type Registry } from 'prom-client';

/** What the gauges are read from at each scrape: the state itself, so they never drift from /map and /invariants. */
export interface GaugeSources {
  openViolations(): Record<ObserverInvariant, number>;
  driftEntries(): Record<DriftKind, number>;
}

/** The observer's own series (docs: services/observer/README.md). */
export function observerMetrics(registry: Registry, sources: () => GaugeSources | undefined) {
  new Gauge({
    name: METRIC.invariantViolationsOpen,
    help: 'Invariant violations open now, by invariant.',
    labelNames: ['invariant'],
    registers: [registry],
    collect() {
      const counts = sources()?.openViolations();
      for (const invariant of OBSERVER_INVARIANTS) this.set({ invariant }, counts?.[invariant] ?? 0);
    },
  });
  new Gauge({
    name: METRIC.observerDrift,
    help: 'Drift entries: what the observer saw that the contract does not say, by kind.',
    labelNames: ['kind'],
    registers: [registry],
    collect() {
      const counts = sources()?.driftEntries();
      for (const [kind, n] of Object.entries(counts ?? {})) this.set({ kind }, n);
    },
  });
  const found = new Counter({ name: METRIC.invariantViolations, help: 'Invariant violations found, by invariant.', labelNames: ['invariant'], registers: [registry] });
  for (const invariant of OBSERVER_INVARIANTS) found.inc({ invariant }, 0);
  return {
    found,
    messages: new Counter({
      name: METRIC.observerMessages,
      help: 'Messages seen on the exchanges, by exchange, type (other past 20 undeclared types) and whether the contract declares them.',
      labelNames: ['exchange', 'type', 'declared'],
      registers: [registry],
    }),
    readFailures: new Counter({ name: METRIC.observerReadFailures, help: "Reads of the services' HTTP APIs that gave no usable answer, by target.", labelNames: ['target'], registers: [registry] }),
    readsDeferred: new Counter({
      name: METRIC.observerReadsDeferred,
      help: 'Reads a check needed that its round had no budget left for (OBSERVER_READS_PER_CHECK), put off to a later round, by read.',
      labelNames: ['read'],
      registers: [registry],
    }),
  };
}

export type ObserverMetrics = ReturnType<typeof observerMetrics>;
