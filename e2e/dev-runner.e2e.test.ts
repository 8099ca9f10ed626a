import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { contracts } from './support/contracts';
import { freePort } from './support/system';

// `make dev` runs scripts/dev.js in the terminal's foreground process group: Ctrl-C signals every
// process in that group at once. The test does what the terminal does: the runner gets a group
// of its own, and SIGINT goes to the whole group.
const ROOT = join(__dirname, '..');
// Two services, the card gateway (a process of another shape: no broker) and the observer (a
// broker user but no database).
const RUN = ['order', 'payment', 'gateway', 'observer'] as const;
const WITH_DATABASE = ['order', 'payment', 'gateway'] as const;

describe('make dev', () => {
  let vhost: TestVhost;
  let databases: TestDatabase[];

  beforeAll(async () => {
    const access = inject('access');
    vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'e2e-dev');
    databases = await Promise.all(WITH_DATABASE.map((s) => createTestDatabase(inject('databaseUrl'), `e2e_dev_${s}`, access[s])));
  });

  afterAll(async () => {
    await Promise.allSettled([vhost?.delete(), ...(databases ?? []).map((db) => db.drop())]);
  });

  it('when Ctrl-C reaches the whole process group, then each service shuts down gracefully once and exits 0', async () => {
    // One service per runner keeps DATABASE_URL and PORT unambiguous (the runner passes its
    // environment to every service); three runners show it holds for each.
    const runners = await Promise.all(
      RUN.map(async (service, i) => {
        const port = await freePort();
        contracts.watch(`http://127.0.0.1:${port}`, service);
        const child = spawn(process.execPath, [join(ROOT, 'scripts', 'dev.js'), service], {
          cwd: ROOT,
          detached: true,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            ...(service === 'gateway' ? {} : { RABBITMQ_URL: vhost.urlFor(service) }),
            ...(service === 'observer' ? {} : { DATABASE_URL: databases[i]!.url }),
            PORT: String(port),
            HOST: '127.0.0.1',
            LOG_LEVEL: 'info',
          },
        });
        let printed = '';
        child.stdout.on('data', (chunk: Buffer) => (printed += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (printed += chunk.toString()));
        const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
        await eventually(
          async () => ((await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200 ? true : undefined),
          { timeoutMs: 30_000, intervalMs: 100, what: `${service} ready under the dev runner` },
        );
        return { service, child, exited, printed: () => printed };
      }),
    );

    for (const { child } of runners) process.kill(-child.pid!, 'SIGINT');
    const codes = await Promise.all(runners.map((r) => r.exited));

    for (const [i, runner] of runners.entries()) {
      const out = runner.printed();
      expect(codes[i], out).toBe(0);
      expect(out.match(/shutting down/g), out).toHaveLength(1);
      expect(out, out).not.toMatch(/second SIG/i);
      expect(out).toMatch(new RegExp(`${runner.service}( service)? stopped`));
      expect(out).toMatch(/exited \(0\)/);
    }
  });
});
