import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// The bench's CPU accounting by hop (scripts/bench/report.js, scripts/bench/meters.js).
const load = createRequire(__filename);
const { perHop } = load('../scripts/bench/report.js') as { perHop: (troupe: unknown, sums: unknown) => PerHop };
const { addCpu } = load('../scripts/bench/meters.js') as { addCpu: (readings: Reading[]) => Reading };

interface Reading {
  ms: Record<string, number>;
  kernelMs: Record<string, number>;
  postgresBy?: Record<string, number>;
  seconds: number;
}
interface PerHop {
  rows: { service: string; process_ms: number; kernel_share: number | null; postgres_ms: number; floor_process_ms: number | null }[];
  postgres_other_ms: number;
  floor_postgres_ms: number;
  floor_processes_ms: number;
}

const troupe = {
  processes: [
    { service: 'gateway', key: 'gateway#0', db: 'gw' },
    { service: 'inventory', key: 'inventory#1', db: 'inv' },
    { service: 'inventory', key: 'inventory#2', db: 'inv' },
  ],
};

describe("the bench's CPU by hop", () => {
  it('when rounds are added up, then each process, its kernel time and each database add up across them', () => {
    const round = (n: number): Reading => ({ ms: { postgres: 10 * n, 'inventory#1': n }, kernelMs: { 'inventory#1': n / 2 }, postgresBy: { inv: 4 * n }, seconds: n });
    const sum = addCpu([round(1), round(2)]);
    expect(sum.ms).toMatchObject({ postgres: 30, 'inventory#1': 3 });
    expect(sum.kernelMs).toMatchObject({ 'inventory#1': 1.5 });
    expect(sum.postgresBy).toEqual({ inv: 12 });
    expect(sum.seconds).toBe(3);
  });

  it("when a service has replicas, then its hop adds them up, beside the floor's process for that service", () => {
    const sums = {
      troupe: {
        run: { completed: 10 },
        cpu: { ms: { postgres: 50, 'gateway#0': 20, 'inventory#1': 30, 'inventory#2': 10 }, kernelMs: { 'gateway#0': 5, 'inventory#1': 6, 'inventory#2': 4 }, postgresBy: { gw: 12, inv: 30 } },
      },
      cons: { run: { completed: 20 }, cpu: { ms: { postgres: 40, 'relay:inventory': 16 } } },
    };
    expect(perHop(troupe, sums)).toEqual({
      rows: [
        { service: 'gateway', process_ms: 2, kernel_share: 0.25, postgres_ms: 1.2, floor_process_ms: null },
        { service: 'inventory', process_ms: 4, kernel_share: 0.25, postgres_ms: 3, floor_process_ms: 0.8 },
      ],
      postgres_other_ms: 0.8,
      floor_postgres_ms: 2,
      floor_processes_ms: 0.8,
    });
  });

  it('when the floor runs in one process, or a process used no CPU, then no hop has a floor and no kernel share is made up', () => {
    const sums = {
      troupe: { run: { completed: 10 }, cpu: { ms: { postgres: 0, 'gateway#0': 0 }, kernelMs: { 'gateway#0': 0 }, postgresBy: { gw: 0 } } },
      cons: { run: { completed: 10 }, cpu: { ms: { postgres: 10, relay: 25 } } },
    };
    const hops = perHop({ processes: [troupe.processes[0]] }, sums);
    expect(hops.rows).toEqual([{ service: 'gateway', process_ms: 0, kernel_share: null, postgres_ms: 0, floor_process_ms: null }]);
    expect(hops.floor_processes_ms).toBe(2.5);
  });
});
