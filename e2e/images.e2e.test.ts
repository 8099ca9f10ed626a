import { join } from 'node:path';
import { createTestDatabase, createTestVhost, eventually, type TestDatabase, type TestVhost } from '@troupe/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { composeArgs, composeModel, type ComposeModelService } from '../test/docker-compose';
import { getOrder, placeOrder, reaches } from './support/api';
import { contracts } from './support/contracts';
import { docker, findEngine, residentMb } from './support/docker';
import { freePort, OPERATOR_READ_TOKEN, SERVICES, type Service } from './support/system';

// Every image docker-compose.yml builds: the four services, the card gateway, the web front and the CLI (the
// loadgen profile), built by `docker compose build` from the file's own build sections, run as
// containers with the restrictions compose puts on them (read-only root, no capabilities, an
// init; read from `docker compose config`), the services against the test broker and database,
// the web front and the CLI against the service containers. Containers share the host's network:
// they reach each other, the broker and the database on loopback, as processes on the host do.

/**
 * The compose project the images are built under: compose names them `<project>-<service>`, so
 * the test's images are apart from the `troupe-<service>` ones `docker compose up` builds.
 */
const PROJECT = 'troupe-image-test';
/** The compose services built from this repository, each run below as the service it is. */
const BUILT = [...SERVICES, 'gateway', 'observer', 'web', 'loadgen'] as const;
type Built = (typeof BUILT)[number];
/** The bound every service is held to (docs/decisions/0007-memory-bounds.md). */
const MEMORY_BOUND_MB = 150;
/** SHUTDOWN_TIMEOUT_MS's default: the longest a graceful shutdown may take. */
const SHUTDOWN_TIMEOUT_MS = 10_000;
const LOAD_ORDERS = 200;
const LOAD_IN_FLIGHT = 20;
/** Orders `troupe load` places from the CLI image: a few of each path. */
const CLI_LOAD_ORDERS = 12;
const READY_TIMEOUT_MS = 60_000;

/** `docker run` flags for what compose asks of the service's container. */
function restrictions(spec: ComposeModelService): string[] {
  return [
    ...(spec.read_only ? ['--read-only'] : []),
    ...(spec.tmpfs ?? []).flatMap((path) => ['--tmpfs', path]),
    ...(spec.cap_drop ?? []).flatMap((cap) => ['--cap-drop', cap]),
    ...(spec.security_opt ?? []).flatMap((opt) => ['--security-opt', opt]),
    ...(spec.init ? ['--init'] : []),
  ];
}

/** Compose's duration ("15s", "1m30s") in seconds. */
const seconds = (duration: string | undefined): number =>
  [...(duration ?? '10s').matchAll(/(\d+)(ms|s|m|h)/g)].reduce((total, [, n, unit]) => total + Number(n) * { ms: 0.001, s: 1, m: 60, h: 3600 }[unit as 'ms'], 0);

interface Run {
  service: Service | 'gateway' | 'observer' | 'web';
  image: string;
  container: string;
  port: number;
  sizeMb?: number;
  readyMs?: number;
  rssMb?: number;
  exitCode?: number;
  stopMs?: number;
}

const engine = findEngine();

if (engine.cli === undefined) {
  const why = `no Docker engine with Docker Compose v2: ${engine.reason}`;
  if (process.env.CI === 'true') {
    it('the service images are built and run (CI needs a Docker engine and Docker Compose v2)', () => {
      throw new Error(`${why}. CI must prepare one before make test.`);
    });
  } else {
    console.warn(`\n*** SKIPPED: the service images were NOT built or run — ${why}. ***\n`);
    it.skip(`the service images (skipped: ${why})`, () => {});
  }
} else {
  const cli = engine.cli;
  const run = (args: string[], timeoutMs?: number) => docker(cli, args, { timeoutMs });
  // Every profile on, so the loadgen profile's CLI is there too.
  const compose = composeModel(cli, ['*']) as { services: Record<Built, ComposeModelService> };
  const builtByCompose = Object.keys(compose.services).filter((name) => compose.services[name as Built].build !== undefined);
  const imageOf = (service: Built) => `${PROJECT}-${service}`;
  let buildMs = 0;
  const runs = new Map<Service | 'gateway' | 'observer' | 'web', Run>();
  const each = () => SERVICES.map((service) => runs.get(service) as Run & { service: Service });
  const base = {} as { vhost: TestVhost; databases: TestDatabase[]; gatewayDatabase: TestDatabase };
  const tag = `${Date.now().toString(36)}`;

  const baseUrl = (service: Service | 'gateway' | 'observer' | 'web') => `http://127.0.0.1:${(runs.get(service) as Run).port}`;
  const endpoints = { baseUrl };
  const logsOf = async (r: Run) => run(['logs', '--tail', '80', r.container]).catch((error: Error) => error.message);

  async function waitUntilReady(r: Run, startedAt: number): Promise<number> {
    let last = 'no answer yet';
    while (Date.now() - startedAt < READY_TIMEOUT_MS) {
      try {
        const response = await fetch(`${baseUrl(r.service)}/readyz`, { signal: AbortSignal.timeout(2000) });
        last = `${response.status} ${await response.text()}`;
        if (response.status === 200) return Date.now() - startedAt;
      } catch (error) {
        last = (error as Error).message;
      }
      const state = (await run(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', r.container])).trim();
      if (!state.startsWith('running')) throw new Error(`${r.service} stopped (${state}) before it was ready:\n${await logsOf(r)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${r.service} not ready after ${READY_TIMEOUT_MS} ms (last /readyz: ${last}):\n${await logsOf(r)}`);
  }

  /** The size of a compose service's image in MB, once its labels show compose built it for that service. */
  async function sizeOf(service: Built): Promise<number> {
    const format = '{{index .Config.Labels "com.docker.compose.project"}} {{index .Config.Labels "com.docker.compose.service"}} {{.Size}}';
    const [project, labelled, size] = (await run(['image', 'inspect', '--format', format, imageOf(service)])).trim().split(' ');
    expect({ project, service: labelled }, `${imageOf(service)}: built by compose for ${service}`).toEqual({ project: PROJECT, service });
    return Number(size) / 1e6;
  }
  const cliImage = { image: imageOf('loadgen'), sizeMb: 0 };

  beforeAll(async () => {
    // What `docker compose up --build` builds (the loadgen profile's CLI too), as compose builds
    // it. Only the services named: the third-party images are never pulled.
    const buildStartedAt = Date.now();
    await run([...composeArgs({ projectName: PROJECT }), 'build', ...builtByCompose], 900_000);
    buildMs = Date.now() - buildStartedAt;
    for (const service of [...SERVICES, 'gateway', 'observer', 'web'] as const) {
      const port = await freePort();
      contracts.watch(`http://127.0.0.1:${port}`, service);
      runs.set(service, { service, image: imageOf(service), container: `troupe-image-test-${service}-${tag}`, port, sizeMb: await sizeOf(service) });
    }
    cliImage.sizeMb = await sizeOf('loadgen');

    // Least privilege, as everywhere: each container gets its own broker user and database role.
    const access = inject('access');
    base.vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'e2e-images');
    base.databases = await Promise.all(SERVICES.map((s) => createTestDatabase(inject('databaseUrl'), `e2e_images_${s}`, access[s])));
    base.gatewayDatabase = await createTestDatabase(inject('databaseUrl'), 'e2e_images_gateway', access.gateway);

    // The card gateway first: payment charges through it. No broker: its database alone.
    const gateway = runs.get('gateway') as Run;
    const gatewayStartedAt = Date.now();
    await run([
      'run', '--detach', '--name', gateway.container, '--network', 'host',
      ...restrictions(compose.services.gateway),
      ...Object.entries({ DATABASE_URL: base.gatewayDatabase.url, PORT: String(gateway.port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', OPERATOR_READ_TOKEN }).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
      gateway.image,
    ]);
    gateway.readyMs = await waitUntilReady(gateway, gatewayStartedAt);

    await Promise.all(
      each().map(async (r, i) => {
        const env = {
          RABBITMQ_URL: base.vhost.urlFor(r.service),
          DATABASE_URL: (base.databases[i] as TestDatabase).url,
          PORT: String(r.port),
          HOST: '127.0.0.1', // the host's network: listen on its loopback only
          LOG_LEVEL: 'warn',
          SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
          OPERATOR_READ_TOKEN,
          ...(r.service === 'payment' ? { GATEWAY_URL: baseUrl('gateway') } : {}),
        };
        const startedAt = Date.now();
        await run([
          'run', '--detach', '--name', r.container, '--network', 'host',
          ...restrictions(compose.services[r.service]),
          ...Object.entries(env).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
          r.image,
        ]);
        r.readyMs = await waitUntilReady(r, startedAt);
      }),
    );

    // The observer, over the four containers: its own broker user, the read token, no database.
    const observer = runs.get('observer') as Run;
    const observerEnv = {
      RABBITMQ_URL: base.vhost.urlFor('observer'),
      PORT: String(observer.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OPERATOR_READ_TOKEN,
      ...Object.fromEntries([...SERVICES, 'gateway' as const].map((service) => [`${service.toUpperCase()}_URL`, baseUrl(service)])),
    };
    const observerStartedAt = Date.now();
    await run([
      'run', '--detach', '--name', observer.container, '--network', 'host',
      ...restrictions(compose.services.observer),
      ...Object.entries(observerEnv).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
      observer.image,
    ]);
    observer.readyMs = await waitUntilReady(observer, observerStartedAt);

    // The web front, over the four containers and the observer (its own readiness needs nothing else).
    const web = runs.get('web') as Run;
    const webEnv = {
      PORT: String(web.port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      OPERATOR_READ_TOKEN,
      ...Object.fromEntries([...SERVICES, 'gateway' as const, 'observer' as const].map((service) => [`${service.toUpperCase()}_URL`, baseUrl(service)])),
    };
    const startedAt = Date.now();
    await run([
      'run', '--detach', '--name', web.container, '--network', 'host',
      ...restrictions(compose.services.web),
      ...Object.entries(webEnv).flatMap(([key, value]) => ['--env', `${key}=${value}`]),
      web.image,
    ]);
    web.readyMs = await waitUntilReady(web, startedAt);
  }, 1_200_000);

  afterAll(async () => {
    const rows = [...runs.values()].map((r) => ({
      image: r.image,
      'size MB': r.sizeMb?.toFixed(0),
      'ready ms': r.readyMs,
      'RSS MB': r.rssMb?.toFixed(1),
      'exit code': r.exitCode,
      'stop ms': r.stopMs,
    }));
    rows.push({ image: cliImage.image, 'size MB': cliImage.sizeMb.toFixed(0), 'ready ms': undefined, 'RSS MB': undefined, 'exit code': undefined, 'stop ms': undefined });
    console.log(`service images on Docker ${engine.version}, built by docker compose ${engine.compose} in ${(buildMs / 1000).toFixed(1)} s:`);
    console.table(rows);
    // The images stay, so the next run builds from cache.
    await Promise.allSettled([...runs.values()].map((r) => run(['rm', '--force', r.container])));
    await Promise.allSettled([...(base.databases ?? []).map((db) => db.drop()), base.gatewayDatabase?.drop(), base.vhost?.delete()]);
  }, 120_000);

  describe('the service images, run as containers', () => {
    it('the images built are every image compose builds, each from the repository with its Dockerfile', () => {
      expect([...builtByCompose].sort()).toEqual([...BUILT].sort());
      for (const service of BUILT) expect(compose.services[service].build, service).toMatchObject({ context: join(__dirname, '..'), dockerfile: 'Dockerfile' });
    });

    it('when started, then every container answers GET /readyz with 200 (broker, database, every subscription)', async () => {
      for (const r of each()) {
        const response = await fetch(`${baseUrl(r.service)}/readyz`);
        expect(response.status, `${r.service}: ${await response.text()}`).toBe(200);
      }
    });

    it('when running, then each (the observer and the web front too) is the unprivileged node user (uid 1000) and cannot write its root filesystem', async () => {
      for (const r of [...each(), runs.get('observer') as Run, runs.get('web') as Run]) {
        expect((await run(['inspect', '--format', '{{.Config.User}} {{.HostConfig.ReadonlyRootfs}}', r.container])).trim()).toBe('node true');
        expect((await run(['exec', r.container, 'id', '-u'])).trim()).toBe('1000');
        // The user's own home: writable by uid 1000, so only the read-only mount can refuse it.
        const write = await run(['exec', r.container, 'node', '-e', "try { require('fs').writeFileSync('/home/node/probe', 'x'); console.log('written') } catch (e) { console.log(e.code) }"]);
        expect(write.trim(), r.service).toBe('EROFS');
      }
    });

    it('when an order is placed with the containerised order service, then it reaches COMPLETED', async () => {
      const placed = await placeOrder(endpoints);
      const order = await reaches(endpoints, placed.orderId, 'COMPLETED');
      expect(order.history.map((h) => h.type)).toEqual(expect.arrayContaining(['OrderPlaced', 'PaymentCompleted', 'InventoryReserved']));
    });

    it("when orders flow, then the observer's container draws them on its map from its own image's contract, and the web front's container passes the map on", async () => {
      const placed = await placeOrder(endpoints);
      await reaches(endpoints, placed.orderId, 'COMPLETED');
      const map = async () =>
        (await fetch(`${baseUrl('observer')}/map`, { headers: { authorization: `Bearer ${OPERATOR_READ_TOKEN}` } }).then((r) => r.json())) as {
          edges: { id: string; declared: boolean; perMinute: number }[];
        };
      await eventually(async () => ((await map()).edges.find((e) => e.id === 'order.events/OrderPlaced/payment')?.perMinute ?? 0) > 0, {
        what: "OrderPlaced on the observer's map",
      });
      const { edges } = await map();
      expect(edges.filter((e) => e.declared).length).toBeGreaterThanOrEqual(12);
      expect(edges.filter((e) => !e.declared)).toEqual([]);
      const viaWeb = await fetch(`${baseUrl('web')}/api/map`);
      expect(viaWeb.status).toBe(200);
      expect(((await viaWeb.json()) as { edges: unknown[] }).edges).toHaveLength(edges.length);
    });

    it("when the web front's container is asked for the page and the stock, then it serves them from the service containers", async () => {
      const web = baseUrl('web');
      const page = await fetch(`${web}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(await page.text()).toContain('src="app.js"');
      const { stock } = (await fetch(`${web}/api/stock`).then((r) => r.json())) as { stock: { sku: string; available: number | null }[] };
      expect(stock.map((s) => [s.sku, s.available === null])).toEqual([
        ['SKU-TSHIRT', false],
        ['SKU-MUG', false],
        ['SKU-HOODIE', false],
        ['SKU-SOLDOUT', false],
      ]);
      // An order placed through the web front, followed to its end on its journey.
      const placed = (await fetch(`${web}/api/orders`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ customerId: 'c-image', email: 'ada@example.com', items: [{ sku: 'SKU-MUG', quantity: 1 }], paymentMethod: { token: 'tok_declined' } }),
      }).then((r) => r.json())) as { status: number; body: { orderId: string } };
      expect(placed.status).toBe(202);
      await eventually(async () => ((await fetch(`${web}/api/orders/${placed.body.orderId}/journey`).then((r) => r.json())) as { status: string }).status === 'CANCELLED', {
        what: 'the declined order CANCELLED on its journey',
      });
    });

    it(`when the CLI image runs \`troupe load\` as the loadgen profile does (${CLI_LOAD_ORDERS} orders), then every order settles as its path says and it exits 0`, async () => {
      // compose's command, with a count instead of a rate and duration.
      const [node, main, load] = compose.services.loadgen.command ?? [];
      expect([node, main, load]).toEqual(['node', 'dist/main.js', 'load']);
      const out = await run(
        [
          'run', '--rm', '--name', `troupe-image-test-cli-${tag}`, '--network', 'host',
          ...restrictions(compose.services.loadgen),
          cliImage.image,
          node as string, main as string, load as string,
          '--count', String(CLI_LOAD_ORDERS), '--concurrency', '4', '--url', baseUrl('order'), '--json',
        ],
        180_000,
      );
      const report = JSON.parse(out.trim().split('\n').at(-1) as string) as { ok: boolean; total: { sent: number; completed: number; cancelled: number; unexpected: number } };
      expect(report.ok).toBe(true);
      expect(report.total).toMatchObject({ sent: CLI_LOAD_ORDERS, unexpected: 0 });
      expect(report.total.completed + report.total.cancelled).toBe(CLI_LOAD_ORDERS);
      // And the operator's other command, against payment's database: no dead letters.
      const paymentDb = (base.databases[SERVICES.indexOf('payment')] as TestDatabase).url;
      const dlq = await run(['run', '--rm', '--network', 'host', ...restrictions(compose.services.loadgen), '--env', `RABBITMQ_URL=${base.vhost.url}`, '--env', `DATABASE_URL=${paymentDb}`, cliImage.image, 'node', 'dist/main.js', 'dlq', 'list', '--service', 'payment']);
      expect(dlq.trim()).toBe("payment's dead letters: 0 message(s)");
    }, 240_000);

    it(`when ${LOAD_ORDERS} orders are placed (${LOAD_IN_FLIGHT} in flight), then every one completes and each container stays under ${MEMORY_BOUND_MB} MB RSS`, async () => {
      const peak = new Map<Service, number>();
      const sample = async () => {
        for (const r of each()) peak.set(r.service, Math.max(peak.get(r.service) ?? 0, await residentMb(cli, r.container)));
      };
      let loading = true;
      const sampler = (async () => {
        while (loading) await sample();
      })();
      sampler.catch(() => {}); // awaited below; a failed sample fails the test there

      const ids: string[] = [];
      try {
        const queue = Array.from({ length: LOAD_ORDERS }, (_, i) => i);
        await Promise.all(
          Array.from({ length: LOAD_IN_FLIGHT }, async () => {
            while (queue.shift() !== undefined) ids.push((await placeOrder(endpoints)).orderId);
          }),
        );
        await eventually(
          async () => {
            for (const id of ids) if ((await getOrder(endpoints, id)).status !== 'COMPLETED') return false;
            return true;
          },
          { timeoutMs: 120_000, intervalMs: 500, what: `${LOAD_ORDERS} orders to complete` },
        );
      } finally {
        loading = false;
      }
      await sampler;
      await sample();

      for (const r of each()) r.rssMb = peak.get(r.service);
      expect(ids).toHaveLength(LOAD_ORDERS);
      expect(each().filter((r) => (r.rssMb ?? Infinity) >= MEMORY_BOUND_MB).map((r) => `${r.service}: ${r.rssMb} MB`)).toEqual([]);
    }, 300_000);

    it('when docker stop sends SIGTERM, then each (the observer and the web front too) exits with code 0 within the shutdown timeout', async () => {
      await Promise.all(
        [...each(), runs.get('observer') as Run, runs.get('web') as Run].map(async (r) => {
          const grace = seconds(compose.services[r.service].stop_grace_period);
          const started = Date.now();
          await run(['stop', '--time', String(grace), r.container], (grace + 30) * 1000);
          r.stopMs = Date.now() - started;
          const [exit, oomKilled] = (await run(['inspect', '--format', '{{.State.ExitCode}} {{.State.OOMKilled}}', r.container])).trim().split(' ');
          r.exitCode = Number(exit);
          expect({ service: r.service, exitCode: r.exitCode, oomKilled }, await logsOf(r)).toEqual({ service: r.service, exitCode: 0, oomKilled: 'false' });
          expect(r.stopMs).toBeLessThan(SHUTDOWN_TIMEOUT_MS);
        }),
      );
    }, 120_000);
  });
}
