import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { PathSummary } from '../shared/cli/src/load/stats';
import { useSystem } from './support/hooks';

// `pnpm troupe load` against the four services as real processes: every path placed, every order
// followed to its end, the summary true to what happened.
const env = useSystem('load');
const CLI = join(__dirname, '..', 'shared', 'cli', 'dist', 'main.js');

function troupe(args: string[], extraEnv: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

type Row = Omit<PathSummary, 'path'> & { path: string };

describe('troupe load', () => {
  it('when 12 orders are placed 4 at a time over an even mix, then each path ends as it should and the summary says so', async () => {
    const { code, stdout, stderr } = await troupe(['load', '--concurrency', '4', '--count', '12', '--mix', 'paid=1,declined=1,soldout=1,flaky=1', '--json', '--timeout', '30s'], {
      ORDER_URL: env.system.baseUrl('order'),
    });
    expect(code, stderr).toBe(0);
    expect(stderr).toMatch(/sent 12 · settled 12 · in flight 0 · errors 0 · [\d.]+ orders\/s/);
    const report = JSON.parse(stdout) as { ok: boolean; paths: Row[]; total: Row };
    expect(report.ok).toBe(true);
    const byPath = Object.fromEntries(report.paths.map((r) => [r.path, r]));
    expect(byPath.paid).toMatchObject({ sent: 3, completed: 3, cancelled: 0, unexpected: 0 });
    expect(byPath.declined).toMatchObject({ sent: 3, completed: 0, cancelled: 3, unexpected: 0 });
    expect(byPath.soldout).toMatchObject({ sent: 3, completed: 0, cancelled: 3, unexpected: 0 });
    expect(byPath.flaky).toMatchObject({ sent: 3, completed: 3, cancelled: 0, unexpected: 0 });
    expect(report.total).toMatchObject({ sent: 12, errors: 0, rejected: 0, timedOut: 0 });
    const { p50Ms, p95Ms, p99Ms } = report.total;
    expect(p50Ms).toBeGreaterThan(0);
    expect(p50Ms! <= p95Ms! && p95Ms! <= p99Ms!).toBe(true);
    // The flaky path waits out two retries with backoff (100 ms, then 200 ms): it is the slowest.
    expect(byPath.flaky!.p50Ms!).toBeGreaterThan(byPath.paid!.p50Ms!);
  });

  it('when a rate and a duration are given, then it places about rate × duration orders and prints the table', async () => {
    const { code, stdout, stderr } = await troupe(['load', '--rate', '10', '--duration', '1s', '--mix', 'paid=1'], { ORDER_URL: env.system.baseUrl('order') });
    expect(code, stderr).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^path\s+sent\s+completed\s+cancelled\s+unexpected\s+rejected\s+errors\s+timed out\s+p50\s+p95\s+p99$/);
    const all = /^all\s+(\d+)\s+(\d+)\s+0\s+0\s+0\s+0\s+0\s/.exec(lines.find((line) => line.startsWith('all')) ?? '');
    // Ten sends a second for a second (an eleventh when the last wait ends a hair before the deadline).
    expect(Number(all?.[1])).toBeGreaterThanOrEqual(10);
    expect(Number(all?.[1])).toBeLessThanOrEqual(11);
    expect(all?.[2]).toBe(all?.[1]);
  });

  it('when the order service is not there, then every order is an error and the exit code is 1', async () => {
    const { code, stdout } = await troupe(['load', '--count', '3', '--concurrency', '1', '--json', '--url', 'http://127.0.0.1:9']);
    expect(code).toBe(1);
    expect(JSON.parse(stdout)).toMatchObject({ ok: false, total: { sent: 3, errors: 3 } });
  });

  it('when an option is wrong, then exit code 2 and a message naming it', async () => {
    const { code, stderr } = await troupe(['load', '--rate', 'lots']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/--rate must be a number above 0/);
  });
});
