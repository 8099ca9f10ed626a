import { DRIFT_KINDS, METRIC, OBSERVER_INVARIANTS } from '@troupe/contracts';
import { Counter, Gauge, type Registry } from 'prom-client';

/** The observer's own series (docs: services/observer/README.md). */
export function observerMetrics(registry: Registry) {
  const open = new Gauge({ name: METRIC.invariantViolationsOpen, help: 'Invariant violations open now, by invariant.', labelNames: ['invariant'], registers: [registry] });
  const found = new Counter({ name: METRIC.invariantViolations, help: 'Invariant violations found, by invariant.', labelNames: ['invariant'], registers: [registry] });
  const drift = new Gauge({ name: METRIC.observerDrift, help: 'Drift entries: what the observer saw that the contract does not say, by kind.', labelNames: ['kind'], registers: [registry] });
  for (const invariant of OBSERVER_INVARIANTS) {
    open.set({ invariant }, 0);
    found.inc({ invariant }, 0);
  }
  for (const kind of DRIFT_KINDS) drift.set({ kind }, 0);
  return {
    open,
    found,
    drift,
    messages: new Counter({
      name: METRIC.observerMessages,
      help: 'Messages seen on the exchanges, by exchange, type (other past 20 undeclared types) and whether the contract declares them.',
      labelNames: ['exchange', 'type', 'declared'],
      registers: [registry],
    }),
    readFailures: new Counter({ name: METRIC.observerReadFailures, help: "Reads of the services' HTTP APIs that gave no usable answer, by target.", labelNames: ['target'], registers: [registry] }),
  };
}

export type ObserverMetrics = ReturnType<typeof observerMetrics>;
