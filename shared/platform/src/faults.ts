import type { FaultFlag, FaultFlags } from '@troupe/contracts';
import type { Express, RequestHandler } from 'express';
import { z } from 'zod';
import { validationError } from './http';

export type { FaultFlag };

/**
 * Fault switches for demonstrations, changed at run time: keyed, typed flags with a default, in
 * the spirit of OpenFeature (docs/decisions/0010). They live in the process's memory; a restart
 * (or a second replica) starts with every fault off.
 */
export class Faults<K extends string = string> {
  private readonly values = new Map<K, number>();

  constructor(readonly flags: Record<K, FaultFlag>) {
    for (const key of this.keys()) this.values.set(key, flags[key].defaultValue);
  }

  keys(): K[] {
    return Object.keys(this.flags) as K[];
  }

  value(key: K): number {
    return this.values.get(key) ?? this.flags[key].defaultValue;
  }

  /** True with the probability the ratio flag `key` says (0: never, 1: always). */
  strikes(key: K, random: () => number = Math.random): boolean {
    const ratio = this.value(key);
    return ratio > 0 && random() < ratio;
  }

  /** Waits as long as the millisecond flag `key` says (not at all when it is 0). */
  async delay(key: K): Promise<void> {
    const ms = this.value(key);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** The schema of a change: any subset of the flags, each within its range; unknown keys refused. */
  changeSchema() {
    const shape = Object.fromEntries(this.keys().map((key) => [key, z.number().min(this.flags[key].min).max(this.flags[key].max).optional()]));
    return z.strictObject(shape);
  }

  set(change: Partial<Record<K, number>>): void {
    for (const [key, value] of Object.entries(change) as [K, number | undefined][]) if (value !== undefined) this.values.set(key, value);
  }

  /** Every flag with its current value, as the admin API shows it. */
  describe(): FaultFlags['flags'] {
    return Object.fromEntries(this.keys().map((key) => [key, { ...this.flags[key], value: this.value(key) }]));
  }
}

/** GET and PUT /admin/faults, behind the admin guard. */
export function faultRoutes(app: Express, faults: Faults, guard: RequestHandler): void {
  const schema = faults.changeSchema();
  app.get('/admin/faults', guard, (_req, res) => {
    res.json({ flags: faults.describe() } satisfies FaultFlags);
  });
  app.put('/admin/faults', guard, (req, res) => {
    const parsed = schema.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    faults.set(parsed.data as Record<string, number>);
    res.json({ flags: faults.describe() } satisfies FaultFlags);
  });
}
