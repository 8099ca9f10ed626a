import type { ServiceChecks } from '@troupe/contracts';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import type { MessagingMetrics } from '../metrics';

/** Something handlers need besides the broker, and how to tell it is back. */
export interface Dependency {
  name: string;
  /** Resolves when the dependency answers as handlers need it; throws otherwise. */
  probe: () => Promise<void>;
  /** Every subscription needs it (the database), or only those whose handlers reported it. */
  scope: 'all' | 'reporting';
}

/** What `Outages` pauses and resumes: a subscription's consumer. */
export interface Pausable {
  readonly queue: string;
  pause(dependency: string): Promise<void>;
  resume(dependency: string): Promise<void>;
}

export interface OutagesOptions {
  dependencies: readonly Dependency[];
  logger: Logger;
  metrics: MessagingMetrics;
  /** First wait before probing; doubles up to `maxProbeDelayMs`. */
  minProbeDelayMs?: number;
  maxProbeDelayMs?: number;
  /** Called when a dependency answers again, after its subscriptions resumed. */
  onBack?: (dependency: string) => void;
}

interface Outage {
  since: number;
  paused: Set<Pausable>;
  probes: number;
}

/**
 * A dependency outage is the system's condition, not the message's (decision 0009): the affected
 * subscriptions stop taking messages, the dependency is probed with capped backoff, and they
 * resume by themselves when it answers. Messages wait in their queues meanwhile, their attempts
 * untouched. One log line and one metric change per transition, never per message.
 */
export class Outages {
  private readonly down = new Map<string, Outage>();
  private readonly byName: Map<string, Dependency>;
  /** What an outage pauses: every subscription's consumer (see `watch`). */
  private consumers: readonly Pausable[] = [];
  private stopped = false;

  constructor(private readonly options: OutagesOptions) {
    this.byName = new Map(options.dependencies.map((d) => [d.name, d]));
    for (const d of options.dependencies) options.metrics.dependencyUp.set({ dependency: d.name }, 1);
  }

  /** The consumers an outage may pause (they are built after the outages that pause them). */
  watch(consumers: readonly Pausable[]): void {
    this.consumers = consumers;
  }

  /** A message of `queue` could not be handled because `dependency` is away. */
  report(dependency: string, queue: string, error: unknown): void {
    if (this.stopped) return;
    const scope = this.byName.get(dependency)?.scope ?? 'reporting';
    const affected = scope === 'all' ? this.consumers : this.consumers.filter((c) => c.queue === queue);
    let outage = this.down.get(dependency);
    if (!outage) {
      outage = { since: Date.now(), paused: new Set(), probes: 0 };
      this.down.set(dependency, outage);
      this.options.metrics.dependencyUp.set({ dependency }, 0);
      this.options.metrics.dependencyOutages.inc({ dependency });
      this.options.logger.warn(
        { dependency, err: errorMessage(error), paused: affected.map((c) => c.queue) },
        'dependency unavailable; pausing its subscriptions until it answers',
      );
      void this.probeUntilBack(dependency, outage);
    }
    for (const c of affected) {
      if (outage.paused.has(c)) continue;
      outage.paused.add(c);
      void c.pause(dependency);
    }
  }

  /** Dependencies now down, with how long. */
  status(): ServiceChecks['dependencies'] {
    const names = new Set([...this.byName.keys(), ...this.down.keys()]);
    const now = Date.now();
    return Object.fromEntries(
      [...names].map((name) => {
        const outage = this.down.get(name);
        return [name, outage ? { up: false, downForMs: now - outage.since } : { up: true }];
      }),
    );
  }

  stop(): void {
    this.stopped = true;
  }

  private async probeUntilBack(name: string, outage: Outage): Promise<void> {
    const { minProbeDelayMs = 250, maxProbeDelayMs = 5000, logger, metrics } = this.options;
    const probe = this.byName.get(name)?.probe;
    let delay = minProbeDelayMs;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      if (this.stopped) return;
      outage.probes += 1;
      try {
        // Without a probe the only test is to try the messages again after the backoff.
        await probe?.();
        break;
      } catch {
        delay = Math.min(maxProbeDelayMs, delay * 2);
      }
    }
    this.down.delete(name);
    metrics.dependencyUp.set({ dependency: name }, 1);
    logger.info({ dependency: name, downForMs: Date.now() - outage.since, probes: outage.probes }, 'dependency answers again; resuming its subscriptions');
    await Promise.all([...outage.paused].map((c) => c.resume(name)));
    this.options.onBack?.(name);
  }
}
