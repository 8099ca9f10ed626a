import { describe, expect, it } from 'vitest';
import { Faults } from './faults';

const faults = () =>
  new Faults({
    failureRate: { description: 'fails', min: 0, max: 1, defaultValue: 0, unit: 'ratio' },
    latencyMs: { description: 'waits', min: 0, max: 1000, defaultValue: 0, unit: 'ms' },
  });

describe('Faults', () => {
  it('when nothing was changed, then every flag has its default and never strikes', () => {
    const f = faults();
    expect(f.value('failureRate')).toBe(0);
    expect(f.strikes('failureRate', () => 0)).toBe(false);
  });

  it('when a ratio is set, then it strikes exactly when the draw is below it', () => {
    const f = faults();
    f.set({ failureRate: 0.25 });
    expect(f.strikes('failureRate', () => 0.2)).toBe(true);
    expect(f.strikes('failureRate', () => 0.25)).toBe(false);
    f.set({ failureRate: 1 });
    expect(f.strikes('failureRate', () => 0.999)).toBe(true);
  });

  it('when a change is validated, then values out of range, of the wrong type or unknown are refused', () => {
    const schema = faults().changeSchema();
    expect(schema.safeParse({ failureRate: 0.5 }).success).toBe(true);
    expect(schema.safeParse({}).success).toBe(true);
    expect(schema.safeParse({ failureRate: 1.01 }).success).toBe(false);
    expect(schema.safeParse({ latencyMs: '10' }).success).toBe(false);
    expect(schema.safeParse({ somethingElse: 1 }).success).toBe(false);
  });

  it('when described, then each flag shows its range, unit and current value', () => {
    const f = faults();
    f.set({ latencyMs: 250 });
    expect(f.describe()).toEqual({
      failureRate: { description: 'fails', min: 0, max: 1, defaultValue: 0, unit: 'ratio', value: 0 },
      latencyMs: { description: 'waits', min: 0, max: 1000, defaultValue: 0, unit: 'ms', value: 250 },
    });
  });
});
