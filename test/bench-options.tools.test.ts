/**
 * scripts/bench.js's command line, run as `make bench` runs it: `--help` lists every option, and a
 * bad one ends the run before it starts anything, with exit code 2 and a line naming it.
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(__dirname, '..');
const bench = (...args: string[]) => spawnSync(process.execPath, ['scripts/bench.js', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 20_000 });

describe('the bench command line', () => {
  it('when asked for --help, then it prints every option with its default and exits 0', () => {
    const { status, stdout } = bench('--help');
    expect(status).toBe(0);
    expect(stdout).toContain('usage: node scripts/bench.js');
    for (const option of ['--orders 2000', '--rounds 3', '--history 1000000', '--constraints place,charge,mail,processes', '--no-tracing', '--log-level VALUE']) expect(stdout).toContain(option);
  });

  it.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--profile=yes'], "Option '--profile' does not take an argument"],
    [['--orders', '0'], '--orders must be a whole number ≥ 1 (got 0)'],
    [['--log-level', 'loud'], '--log-level must be one of fatal, error, warn, info, debug, trace, silent (got loud)'],
    [['--constraints', 'place,fast'], '--constraints must be a comma-separated subset'],
    [['--curve', '1,x'], '--curve must be whole numbers ≥ 1'],
  ])('when given %j, then it exits 2 naming the problem, with no stack trace', (args, message) => {
    const { status, stderr, stdout } = bench(...args);
    expect(status).toBe(2);
    expect(stderr).toContain(message);
    expect(stderr).not.toMatch(/^\s+at /m);
    expect(stdout).toBe('');
  });
});
