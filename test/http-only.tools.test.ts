/**
 * A process that only serves HTTP (the web front) loads no broker client and no database driver:
 * `@troupe/platform` is the HTTP shell alone, and what needs RabbitMQ or Postgres lives in
 * `@troupe/service`, which only the services import. Checked on the built code (run `tsc -b`
 * first), in a node process of its own started the way the image starts the web front.
 */
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

/** The broker client, the Postgres driver and its parts, migrations, and the troupe packages that load them. */
const INFRASTRUCTURE = /\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?(amqplib|pg|pg-pool|pg-protocol|node-pg-migrate|@troupe\/(?:messaging|service))\/|\/shared\/(messaging|service)\/dist\//;

/**
 * The files a fresh node process has loaded after requiring `modules` (from `cwd`), with the
 * `node` options the image uses. troupe compiles to CommonJS (docs/decisions/0005), so
 * require.cache holds every module it loaded.
 */
function loadedBy(cwd: string, modules: string[], nodeOptions: string[] = []): string[] {
  const script = `${modules.map((m) => `require(${JSON.stringify(m)});`).join('')}process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
  const run = spawnSync(process.execPath, [...nodeOptions, '-e', script], { cwd, encoding: 'utf8', env: { ...process.env, OTEL_TRACES_EXPORTER: 'none' } });
  expect(run.status, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as string[]).map((file) => file.replaceAll('\\', '/'));
}

describe('an HTTP-only process', { timeout: 30_000 }, () => {
  it('when the web front starts (instrumentation, then its main module), then no broker or database module is loaded', () => {
    const loaded = loadedBy(join(root, 'services', 'web'), ['./dist/main.js'], ['--import', './dist/instrumentation.js']);
    // What it does load, so an empty list cannot pass for a clean one.
    expect(loaded.some((file) => file.includes('/shared/platform/dist/http.js'))).toBe(true);
    expect(loaded.some((file) => /\/node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?express\//.test(file))).toBe(true);
    expect(loaded.filter((file) => INFRASTRUCTURE.test(file))).toEqual([]);
  });

  it('when @troupe/platform is loaded on its own, then no broker or database module is', () => {
    const loaded = loadedBy(join(root, 'services', 'web'), ['@troupe/platform']);
    expect(loaded.some((file) => file.includes('/shared/platform/dist/index.js'))).toBe(true);
    expect(loaded.filter((file) => INFRASTRUCTURE.test(file))).toEqual([]);
  });

  it('when a service loads @troupe/service, then the check sees its broker client and driver (it can fail)', () => {
    const loaded = loadedBy(join(root, 'services', 'order'), ['@troupe/service']);
    const infrastructure = loaded.filter((file) => INFRASTRUCTURE.test(file));
    expect(infrastructure.some((file) => /\/amqplib\//.test(file))).toBe(true);
    expect(infrastructure.some((file) => /\/pg\//.test(file))).toBe(true);
  });
});
