/**
 * The container side of troupe, checked without a Docker engine: docker-compose.yml, the
 * Dockerfile and the infra/ configuration must agree with each other and with the code (each
 * service's config schema, its package.json start script, the metrics it exports). The file is
 * read here with compose's merge keys and variable substitution, and `docker compose config`
 * confirms that this reading is compose's own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { brokerPermissionsOf, HISTOGRAM_METRICS, METRIC, observerPermissions, type ServiceName } from '@troupe/contracts';
import { parseBrokerUrls } from '../shared/messaging/src/broker/addresses';
import { composeConfig, composeFor, composeModel, readEnvFile, testEnvFile } from './docker-compose';
import { configSchema as inventorySchema } from '../services/inventory/src/config';
import { configSchema as notificationSchema } from '../services/notification/src/config';
import { configSchema as orderSchema } from '../services/order/src/config';
import { configSchema as paymentSchema } from '../services/payment/src/config';
import { configSchema as gatewaySchema } from '../services/gateway/src/config';
import { configSchema as webSchema } from '../services/web/src/config';
import { configSchema as observerSchema } from '../services/observer/src/config';

const root = resolve(__dirname, '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** What the test needs of a service's zod schema (structural, so this file needs no zod types). */
interface ConfigSchema {
  shape: Record<string, unknown>;
  safeParse(value: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } };
}

const SERVICES: Record<string, ConfigSchema> = {
  order: orderSchema,
  payment: paymentSchema,
  inventory: inventorySchema,
  notification: notificationSchema,
};
const SERVICE_NAMES = Object.keys(SERVICES);
/** The broker's compose services: the first always, the others in the `cluster` profile. */
const RABBITMQ_NODES = ['rabbitmq', 'rabbitmq-2', 'rabbitmq-3'];

/**
 * The metric names the services export (one list, `METRIC` in shared/contracts) and RabbitMQ's
 * prometheus plugin serves: the contract the dashboard is held to. A dashboard query naming
 * anything else (a typo, a renamed metric) fails the test.
 */
const METRICS: string[] = [
  ...Object.values(METRIC).filter((name) => !HISTOGRAM_METRICS.includes(name)),
  // RabbitMQ's own
  'rabbitmq_queue_messages_ready',
  'rabbitmq_queue_messages',
];
/** Histograms: queried through their _bucket, _sum and _count series, never by the bare name. */
const HISTOGRAMS = HISTOGRAM_METRICS;

// --- docker-compose.yml, as compose sees it ----------------------------------------------------

type Env = Record<string, string>;

/**
 * The secrets `make env` generates (scripts/make-env.sh), generated afresh for this run: what
 * `docker compose up` reads from .env. Nothing else is set.
 */
const SECRETS: Env = readEnvFile(testEnvFile());

/**
 * Compose's variable substitution (`${VAR}`, `${VAR:-default}`, `${VAR-default}`, `${VAR:?error}`,
 * `$VAR`, `$$`), with the environment `make env` gives it.
 */
function interpolate(text: string, env: Env = SECRETS): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced?: string, operator?: string, operand?: string, bare?: string) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = env[name];
      if (operator === ':-') return value ? value : (operand ?? '');
      if (operator === '-') return value ?? operand ?? '';
      if (operator === ':?') return value ? value : fail(`required variable ${name} is missing a value: ${operand ?? ''}`);
      if (operator === '?') return value ?? fail(`required variable ${name} is missing a value: ${operand ?? ''}`);
      return value ?? '';
    },
  );
}

const fail = (message: string): never => {
  throw new Error(message);
};

const deepInterpolate = (value: unknown): unknown => {
  if (typeof value === 'string') return interpolate(value);
  if (Array.isArray(value)) return value.map(deepInterpolate);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, deepInterpolate(inner)]));
  }
  return value;
};

interface PortMapping {
  hostIp: string | undefined;
  published: number | undefined;
  target: number;
}

interface ComposeService {
  image?: string;
  build?: { context?: string; dockerfile?: string; args?: Record<string, string | number> };
  environment?: Record<string, string | number | boolean> | string[];
  ports?: (string | number | { target: number; published?: string | number; host_ip?: string })[];
  healthcheck?: { test?: string | string[] };
  command?: string | string[];
  entrypoint?: string | string[];
  secrets?: (string | { source: string; target?: string; mode?: number })[];
  deploy?: { replicas?: number };
  depends_on?: string[] | Record<string, { condition?: string }>;
  volumes?: (string | { source?: string; target?: string })[];
  network_mode?: string;
  read_only?: boolean;
  cap_drop?: string[];
  security_opt?: string[];
}

const composeText = read('docker-compose.yml');
// `merge: true`: compose honours YAML merge keys (`<<: *service`), which YAML 1.2 leaves out.
const rawCompose = parse(composeText, { merge: true }) as {
  services: Record<string, ComposeService>;
  secrets?: Record<string, { environment?: string; file?: string }>;
};
const compose = deepInterpolate(rawCompose) as typeof rawCompose;

const serviceOf = (name: string): ComposeService => {
  const service = compose.services[name];
  if (!service) throw new Error(`docker-compose.yml has no service "${name}"`);
  return service;
};

/** The environment in map form, every value a string (as the container gets it). */
const envOf = (name: string): Env => {
  const environment = serviceOf(name).environment;
  if (!environment || Array.isArray(environment)) throw new Error(`${name}: environment must be a map`);
  return Object.fromEntries(Object.entries(environment).map(([key, value]) => [key, String(value)]));
};

/** Short ("127.0.0.1:3000:3000/tcp") and long ({ target, published, host_ip }) port syntax. */
const portsOf = (name: string): PortMapping[] =>
  (serviceOf(name).ports ?? []).map((port) => {
    if (typeof port === 'object') {
      return {
        hostIp: port.host_ip,
        published: port.published === undefined ? undefined : Number(port.published),
        target: Number(port.target),
      };
    }
    const parts = String(port).replace(/\/(tcp|udp)$/, '').split(':');
    const target = Number(parts.pop());
    const published = parts.length > 0 ? Number(parts.pop()) : undefined;
    return { hostIp: parts.length > 0 ? parts.join(':') : undefined, published, target };
  });

const dependsOn = (name: string): Record<string, string> => {
  const deps = serviceOf(name).depends_on ?? {};
  if (Array.isArray(deps)) return Object.fromEntries(deps.map((dep) => [dep, 'service_started']));
  return Object.fromEntries(Object.entries(deps).map(([dep, spec]) => [dep, spec.condition ?? 'service_started']));
};

const portFromEnv = (name: string): number => Number(envOf(name).PORT);

// --- the Dockerfile ------------------------------------------------------------------------------

interface Instruction {
  keyword: string;
  args: string;
}

/** Instructions in order: comments dropped, continuation lines joined. */
const dockerfile: Instruction[] = read('Dockerfile')
  .split('\n')
  .filter((line) => !/^\s*#/.test(line))
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line.length > 0)
  .map((line) => {
    const [keyword = '', ...rest] = line.split(/\s+/);
    return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
  });

const stages: Instruction[][] = dockerfile.reduce<Instruction[][]>((all, instruction) => {
  if (instruction.keyword === 'FROM') all.push([]);
  all.at(-1)?.push(instruction);
  return all;
}, []);
const finalStage = stages.at(-1) ?? [];

/** An exact version: x.y.z (optionally v-prefixed), optionally a variant suffix and a digest. */
const PINNED_IMAGE = /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9._-]+(?:\/[a-z0-9._-]+)*:v?\d+\.\d+\.\d+(?:-[a-z0-9.-]+)?(?:@sha256:[a-f0-9]{64})?$/;
/** PostgreSQL numbers its releases major.minor since 10: there, 17.7 is exact (17 floats). */
const PINNED_POSTGRES = /^postgres:\d+\.\d+(?:-[a-z0-9.-]+)?(?:@sha256:[a-f0-9]{64})?$/;
const isPinned = (image: string): boolean => PINNED_IMAGE.test(image) || PINNED_POSTGRES.test(image);

// --- PromQL, just enough to list the metrics a query names -------------------------------------

const PROMQL_KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);

function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*(?::[a-z]+)?\}?/g, ' ') // Grafana variables
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ') // string literals
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // range selectors and subqueries
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ') // label lists
    .replace(/\boffset\s+-?\w+/g, ' ');
  const names: string[] = [];
  for (const match of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const after = stripped.slice((match.index ?? 0) + match[0].length);
    if (/^\s*\(/.test(after)) continue; // a function or an aggregation
    if (PROMQL_KEYWORDS.has(match[0].toLowerCase())) continue;
    if (/^\d/.test(match[0])) continue;
    names.push(match[0]);
  }
  return names;
}

/** True when `name` is a series the contract says exists. */
const isKnownSeries = (name: string): boolean =>
  METRICS.includes(name) || HISTOGRAMS.some((histogram) => ['_bucket', '_sum', '_count'].some((suffix) => name === histogram + suffix));

interface Panel {
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

const dashboardText = read('infra/grafana/dashboards/troupe.json');
const dashboard = JSON.parse(dashboardText) as {
  title: string;
  uid: string;
  panels: Panel[];
  templating?: { list: { query?: string | { query?: string }; datasource?: { uid?: string } }[] };
};
const allPanels = (panels: Panel[]): Panel[] => panels.flatMap((panel) => [panel, ...allPanels(panel.panels ?? [])]);
const queryPanels = allPanels(dashboard.panels).filter((panel) => (panel.targets ?? []).length > 0);
const exprsOf = (panel: Panel): string[] => (panel.targets ?? []).map((target) => target.expr ?? '');

// ================================================================================================

describe('docker-compose.yml as read here is docker-compose.yml as docker compose reads it', () => {
  const found = composeFor('the reading of docker-compose.yml against docker compose config');
  if (found === undefined) return;
  // Every profile on: every service, as `docker compose up` with the generated .env sees it.
  const model = composeModel(found.cli, ['*']);

  it(`every service, and no other (compose ${found.version})`, () => {
    expect(Object.keys(model.services).sort()).toEqual(Object.keys(compose.services).sort());
  });

  it.each(Object.keys(compose.services))('%s: the same environment, build arguments, ports and healthcheck', (name) => {
    const ours = serviceOf(name);
    const theirs = model.services[name] ?? {};
    const environment = ours.environment === undefined ? undefined : envOf(name);
    expect(theirs.environment ?? undefined).toEqual(environment);
    expect(theirs.build?.args ?? undefined).toEqual(
      ours.build?.args === undefined ? undefined : Object.fromEntries(Object.entries(ours.build.args).map(([key, value]) => [key, String(value)])),
    );
    expect((theirs.ports ?? []).map((port) => ({ hostIp: port.host_ip, published: port.published === undefined ? undefined : Number(port.published), target: port.target }))).toEqual(portsOf(name));
    const test = ours.healthcheck?.test;
    expect(theirs.healthcheck?.test).toEqual(typeof test === 'string' ? ['CMD-SHELL', test] : test);
  });
});

describe('docker-compose.yml: the four services', () => {
  describe.each(SERVICE_NAMES)('%s', (name) => {
    const schema = SERVICES[name] as ConfigSchema;

    it("the environment passes the service's own config schema", () => {
      const result = schema.safeParse(envOf(name));
      const problems = (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
      expect(problems).toEqual([]);
      expect(result.success).toBe(true);
    });

    it('every variable is one the service reads, or an OTEL_/NODE_ standard one (a typo fails)', () => {
      const unknown = Object.keys(envOf(name)).filter(
        (key) => !(key in schema.shape) && !key.startsWith('OTEL_') && !key.startsWith('NODE_'),
      );
      expect(unknown).toEqual([]);
    });

    it('listens on every interface of the container (HOST is 0.0.0.0)', () => {
      expect(envOf(name).HOST).toBe('0.0.0.0');
    });

    it('publishes PORT on the same host port, on 127.0.0.1', () => {
      const port = portFromEnv(name);
      expect(Number.isInteger(port)).toBe(true);
      expect(portsOf(name)).toEqual([{ hostIp: '127.0.0.1', published: port, target: port }]);
    });

    it("the healthcheck asks this service's own /readyz on PORT, with node (the image has no curl)", () => {
      const test = serviceOf(name).healthcheck?.test;
      expect(Array.isArray(test)).toBe(true);
      const argv = test as string[];
      expect(argv.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      const urls = [...argv.join(' ').matchAll(/http:\/\/127\.0\.0\.1:(\d+)\/readyz/g)];
      expect(urls.map((url) => Number(url[1]))).toEqual([portFromEnv(name)]);
    });

    it('starts only once RabbitMQ and Postgres are healthy', () => {
      expect(dependsOn(name)).toMatchObject({ rabbitmq: 'service_healthy', postgres: 'service_healthy' });
    });

    it('is built from the root Dockerfile with SERVICE set to its name and PORT to its port', () => {
      const build = serviceOf(name).build;
      expect(build?.context).toBe('.');
      expect(build?.dockerfile ?? 'Dockerfile').toBe('Dockerfile');
      expect(String(build?.args?.SERVICE)).toBe(name);
      expect(Number(build?.args?.PORT)).toBe(portFromEnv(name));
    });

    it("reaches the broker and its own database as its own user and role, with the passwords the broker and Postgres give them, one for each", () => {
      const env = envOf(name);
      const brokerPassword = envOf('rabbitmq')[`${name.toUpperCase()}_RABBITMQ_PASSWORD`];
      const databasePassword = envOf('postgres')[`${name.toUpperCase()}_POSTGRES_PASSWORD`];
      expect(brokerPassword, 'the broker sets this password').toBeTruthy();
      expect(databasePassword, 'Postgres sets this password').toBeTruthy();
      expect(databasePassword, 'the broker and the database have passwords of their own').not.toBe(brokerPassword);
      const nodes = parseBrokerUrls(env.RABBITMQ_URL as string);
      expect(nodes.map((node) => node.host)).toEqual(RABBITMQ_NODES.map((node) => `${node}:5672`));
      for (const node of nodes) {
        expect(decodeURIComponent(node.username)).toBe(`troupe-${name}`);
        expect(decodeURIComponent(node.password)).toBe(brokerPassword);
      }

      const database = new URL(env.DATABASE_URL as string);
      expect(database.hostname).toBe('postgres');
      expect(decodeURIComponent(database.username)).toBe(`troupe_${name}`);
      expect(decodeURIComponent(database.password)).toBe(databasePassword);
      expect(database.pathname).toBe(`/${name}`);
      // Not the operator's nor the superuser's credentials.
      expect(decodeURIComponent(nodes[0]!.username)).not.toBe(envOf('rabbitmq').RABBITMQ_DEFAULT_USER);
      expect(decodeURIComponent(database.username)).not.toBe(envOf('postgres').POSTGRES_USER);
    });

    it('sends traces to Jaeger over OTLP/HTTP, and nothing else (Jaeger takes no metrics or logs)', () => {
      const env = envOf(name);
      expect(env.OTEL_SERVICE_NAME).toBe(name);
      // The base URL: the exporter appends /v1/traces itself.
      expect(env.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://jaeger:4318');
      expect(env.OTEL_METRICS_EXPORTER).toBe('none');
      expect(env.OTEL_LOGS_EXPORTER).toBe('none');
      expect(dependsOn(name)).toMatchObject({ jaeger: 'service_healthy' });
    });
  });

  it('when the notification service sends email, then it goes to Mailpit', () => {
    expect(envOf('notification').SMTP_URL).toBe('smtp://mailpit:1025');
    expect(dependsOn('notification')).toMatchObject({ mailpit: 'service_healthy' });
  });

  it("Postgres' max_connections is set, and the services' pools (x replicas) take at most half of it", () => {
    const command = [serviceOf('postgres').command ?? []].flat();
    const setting = command.map((arg) => /^max_connections=(\d+)$/.exec(String(arg))?.[1]).find(Boolean);
    expect(setting, 'postgres is started with -c max_connections=N').toBeDefined();
    const pools = [...SERVICE_NAMES, 'gateway'].map((name) => {
      const parsed = (SERVICES[name] ?? (gatewaySchema as ConfigSchema)).safeParse(envOf(name)) as { data?: { DATABASE_POOL_SIZE?: number } };
      const replicas = serviceOf(name).deploy?.replicas ?? 1;
      return (parsed.data?.DATABASE_POOL_SIZE ?? Infinity) * replicas;
    });
    const total = pools.reduce((sum, pool) => sum + pool, 0);
    expect(total).toBeLessThanOrEqual(Number(setting) / 2);
  });
});

describe('docker-compose.yml: Mailpit and Jaeger', () => {
  it.each(['rabbitmq', 'postgres', 'mailpit', 'jaeger'])('%s has a health check, and whoever depends on it waits until it is healthy', (name) => {
    expect(serviceOf(name).healthcheck?.test).toBeDefined();
    const waiting = Object.keys(compose.services).filter((other) => name in dependsOn(other));
    expect(waiting.length).toBeGreaterThan(0);
    expect(waiting.filter((other) => dependsOn(other)[name] !== 'service_healthy')).toEqual([]);
  });

  describe('infra/jaeger/config.yaml', () => {
    interface Pipeline {
      receivers: string[];
      processors?: string[];
      exporters: string[];
    }
    const config = parse(read('infra/jaeger/config.yaml')) as {
      service: { extensions: string[]; pipelines: Record<string, Pipeline> };
      extensions: Record<string, Record<string, unknown> | null>;
      receivers: Record<string, { protocols?: Record<string, { endpoint?: string }> }>;
      processors?: Record<string, unknown>;
      exporters: Record<string, { trace_storage?: string } | null>;
    };
    const storage = config.extensions.jaeger_storage as { backends: Record<string, { memory?: { max_traces?: number } }> };

    it('is mounted and passed to Jaeger with --config', () => {
      const jaeger = serviceOf('jaeger');
      expect(jaeger.volumes).toContain('./infra/jaeger/config.yaml:/etc/jaeger/config.yaml:ro');
      expect(jaeger.command).toEqual(['--config', '/etc/jaeger/config.yaml']);
    });

    it('every component a pipeline names, and every extension the service lists, is configured', () => {
      const missing = [
        ...config.service.extensions.filter((name) => !(name in config.extensions)),
        ...Object.values(config.service.pipelines).flatMap((pipeline) => [
          ...pipeline.receivers.filter((name) => !(name in config.receivers)),
          ...(pipeline.processors ?? []).filter((name) => !(name in (config.processors ?? {}))),
          ...pipeline.exporters.filter((name) => !(name in config.exporters)),
        ]),
      ];
      expect(missing).toEqual([]);
    });

    it('keeps traces in memory, bounded: the oldest are dropped past max_traces', () => {
      const backends = Object.entries(storage.backends);
      expect(backends.length).toBeGreaterThan(0);
      for (const [, backend] of backends) {
        expect(backend.memory?.max_traces).toBeGreaterThan(0);
        expect(backend.memory?.max_traces).toBeLessThanOrEqual(10_000);
      }
      const used = [
        (config.extensions.jaeger_query as { storage?: { traces?: string } }).storage?.traces,
        ...Object.values(config.exporters).map((exporter) => exporter?.trace_storage),
      ];
      expect(used.filter((name) => !(name && name in storage.backends))).toEqual([]);
    });

    it('receives OTLP on the ports compose publishes and the services send to, on every interface', () => {
      const endpoints = Object.values(config.receivers.otlp?.protocols ?? {}).map((protocol) => protocol.endpoint ?? '');
      const ports = endpoints.map((endpoint) => Number(endpoint.split(':').pop()));
      expect(ports.sort()).toEqual([4317, 4318]);
      // The image sets JAEGER_LISTEN_HOST=0.0.0.0: the services reach it across the compose network.
      expect(endpoints.every((endpoint) => endpoint.startsWith('${env:JAEGER_LISTEN_HOST'))).toBe(true);
      const published = portsOf('jaeger').map((port) => port.target);
      expect(published).toEqual(expect.arrayContaining([4317, 4318]));
    });

    it("the healthcheck asks the health-check extension's port", () => {
      const endpoint = (config.extensions.healthcheckv2 as { http?: { endpoint?: string } }).http?.endpoint ?? '';
      const port = endpoint.split(':').pop();
      const test = (serviceOf('jaeger').healthcheck?.test ?? []) as string[];
      expect(test.join(' ')).toContain(`http://127.0.0.1:${port}/status`);
    });
  });
});

describe('docker-compose.yml: every container', () => {
  const all = Object.entries(compose.services);

  it('every image is pinned to an exact version (x.y.z), never latest or a floating tag', () => {
    const images = all.filter(([, service]) => service.image !== undefined);
    expect(images.length).toBeGreaterThanOrEqual(6);
    const unpinned = images.filter(([, service]) => !isPinned(service.image as string));
    expect(unpinned.map(([name, service]) => `${name}: ${service.image}`)).toEqual([]);
  });

  it('a container without an image is built from this repo', () => {
    const neither = all.filter(([, service]) => service.image === undefined && service.build === undefined);
    expect(neither.map(([name]) => name)).toEqual([]);
  });

  it('every published port is bound to 127.0.0.1, never to all interfaces', () => {
    const open = all.flatMap(([name]) =>
      portsOf(name)
        .filter((port) => port.hostIp !== '127.0.0.1')
        .map((port) => `${name}: ${port.hostIp ?? '(all interfaces)'}:${port.published ?? '(random)'}:${port.target}`),
    );
    expect(open).toEqual([]);
    expect(all.filter(([, service]) => service.network_mode === 'host').map(([name]) => name)).toEqual([]);
  });

  it('no two containers publish the same host port', () => {
    const published = all.flatMap(([name]) => portsOf(name).map((port) => port.published));
    expect(published.length).toBeGreaterThan(0);
    expect(new Set(published).size).toBe(published.length);
  });

  it('every variable compose substitutes is either a secret it requires or a setting with a default (none is left to be empty)', () => {
    const bare = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g)].map(
      (match) => match[1] ?? match[2],
    );
    expect(bare).toEqual([]);
  });

  it('RabbitMQ and Postgres have health checks (the services wait on them)', () => {
    expect(JSON.stringify(serviceOf('rabbitmq').healthcheck?.test)).toMatch(/rabbitmq-diagnostics -q check_port_connectivity/);
    expect(JSON.stringify(serviceOf('postgres').healthcheck?.test)).toMatch(/pg_isready --host=127\.0\.0\.1/);
  });

  it('RabbitMQ has its own user: guest only works from the broker\'s loopback', () => {
    const env = envOf('rabbitmq');
    expect(env.RABBITMQ_DEFAULT_USER).toBeTruthy();
    expect(env.RABBITMQ_DEFAULT_USER).not.toBe('guest');
    expect(env.RABBITMQ_DEFAULT_PASS).toBeTruthy();
  });
});

describe('docker-compose.yml: secrets', () => {
  const FIX = 'run make env (or make up) to generate .env';
  /** Every `${…}` in the file: the variable, the operator and the operand. */
  const substitutions = [...composeText.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}/g)].map((m) => ({
    name: m[1] as string,
    operator: m[2],
    operand: m[3],
  }));
  const isSecretName = (name: string) => /PASS|SECRET|TOKEN|COOKIE|CREDENTIAL|_KEY$/i.test(name);
  const fileSecrets = Object.values(rawCompose.secrets ?? {});
  /** The variables behind compose's `secrets:` (given to containers as files). */
  const secretFileVariables = fileSecrets.map((secret) => secret.environment).filter((name): name is string => !!name);

  it('the secrets compose requires are exactly those `make env` generates', () => {
    const required = substitutions.filter((s) => s.operator === ':?').map((s) => s.name);
    expect([...new Set([...required, ...secretFileVariables])].sort()).toEqual(Object.keys(SECRETS).sort());
  });

  it('no secret has a default: each use of one is `${VAR:?…}` with the one-line fix', () => {
    const secretUses = substitutions.filter((s) => isSecretName(s.name) || s.name in SECRETS);
    expect(secretUses.length).toBeGreaterThan(0);
    expect(secretUses.filter((s) => s.operator !== ':?' || s.operand !== FIX).map((s) => `\${${s.name}${s.operator ?? ''}${s.operand ?? ''}}`)).toEqual([]);
    // What keeps a default is a setting, never a secret (the load generator's rate and duration).
    const defaults = substitutions.filter((s) => s.operator !== ':?');
    expect(defaults.filter((s) => isSecretName(s.name)).map((s) => s.name)).toEqual([]);
    // The cookie comes only through compose's secret, from .env.
    expect(fileSecrets).toEqual([{ environment: 'RABBITMQ_ERLANG_COOKIE' }]);
  });

  it('when any secret is missing, the Erlang cookie included, then reading the file fails with the fix', () => {
    for (const name of Object.keys(SECRETS)) {
      const without = Object.fromEntries(Object.entries(SECRETS).filter(([key]) => key !== name));
      expect(() => interpolate(composeText, without), name).toThrow(`required variable ${name} is missing a value: ${FIX}`);
      expect(() => interpolate(composeText, { ...SECRETS, [name]: '' }), name).toThrow(FIX);
    }
  });

  it('each service has a broker password and a database password of its own: distinct variables, distinct values', () => {
    const variablesIn = (value: unknown) => [...String(value).matchAll(/\$\{([A-Z_]+):\?/g)].map((m) => m[1] as string);
    const seen: string[] = [];
    for (const name of SERVICE_NAMES) {
      const environment = rawCompose.services[name]?.environment as Record<string, string>;
      const broker = [...new Set(variablesIn(environment.RABBITMQ_URL))];
      const database = variablesIn(environment.DATABASE_URL);
      expect([broker, database], name).toEqual([[`${name.toUpperCase()}_RABBITMQ_PASSWORD`], [`${name.toUpperCase()}_POSTGRES_PASSWORD`]]);
      seen.push(...broker, ...database);
    }
    seen.push(...variablesIn((rawCompose.services.gateway?.environment as Record<string, string>).DATABASE_URL));
    expect(new Set(seen).size).toBe(seen.length);
    // And `make env` gives every one a value of its own.
    expect(new Set(Object.values(SECRETS)).size).toBe(Object.keys(SECRETS).length);
  });

  it('the Erlang cookie is on no command line and in no environment: a file only root can read, as a compose secret', () => {
    const cookie = SECRETS.RABBITMQ_ERLANG_COOKIE as string;
    expect(cookie).toMatch(/^[0-9a-f]{32}$/);
    for (const [name, service] of Object.entries(compose.services)) {
      const exposed = JSON.stringify([service.environment, service.command, service.entrypoint, service.healthcheck, (service as { build?: unknown }).build]);
      expect(exposed, name).not.toContain(cookie);
      expect(exposed, name).not.toMatch(/setcookie|ERLANG_COOKIE|ERL_ARGS/i);
    }
    const install = read('infra/rabbitmq/with-erlang-cookie.sh');
    expect(install).toMatch(/^install -m 400 -o rabbitmq -g rabbitmq "\$secret" \/var\/lib\/rabbitmq\/\.erlang\.cookie$/m);
    expect(install).toContain('secret=/run/secrets/rabbitmq-erlang-cookie');
    expect(install).toMatch(/^exec "\$@"$/m);
  });

  describe('with docker compose', () => {
    const found = composeFor('the refusal of docker compose without .env');
    if (found === undefined) return;

    it(`when .env is missing, then docker compose refuses the file and says how to fix it (compose ${found.version})`, () => {
      let message = '';
      try {
        composeConfig(found.cli, { envFile: '/dev/null', args: ['--quiet'] });
      } catch (error) {
        message = String((error as { stderr?: string }).stderr);
      }
      expect(message).toMatch(new RegExp(`required variable [A-Z_]+ is missing a value: ${FIX.replace(/[()]/g, '\\$&')}`));
    });
  });
});

describe('docker-compose.yml: the card gateway', () => {
  const env = () => envOf('gateway');
  const port = () => portFromEnv('gateway');

  it('the environment passes its config schema, every variable one it reads (or an OTEL_ one), HOST 0.0.0.0', () => {
    const result = (gatewaySchema as ConfigSchema).safeParse(env());
    expect((result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([]);
    expect(Object.keys(env()).filter((key) => !(key in (gatewaySchema as ConfigSchema).shape) && !key.startsWith('OTEL_'))).toEqual([]);
    expect(env().HOST).toBe('0.0.0.0');
  });

  it('is built from the root Dockerfile (SERVICE=gateway), publishes PORT on 127.0.0.1, and its healthcheck asks its /readyz', () => {
    const build = serviceOf('gateway').build;
    expect([build?.context, String(build?.args?.SERVICE), Number(build?.args?.PORT)]).toEqual(['.', 'gateway', port()]);
    expect(portsOf('gateway')).toEqual([{ hostIp: '127.0.0.1', published: port(), target: port() }]);
    const argv = serviceOf('gateway').healthcheck?.test as string[];
    expect(argv.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect([...argv.join(' ').matchAll(/http:\/\/127\.0\.0\.1:(\d+)\/readyz/g)].map((url) => Number(url[1]))).toEqual([port()]);
    expect(read('Dockerfile')).toMatch(/\bgateway\|/);
  });

  it('reaches its own database as its own role, with the password Postgres gives it, and has no broker', () => {
    const password = envOf('postgres').GATEWAY_POSTGRES_PASSWORD;
    expect(password, 'Postgres sets this password').toBeTruthy();
    const database = new URL(env().DATABASE_URL as string);
    expect([database.hostname, decodeURIComponent(database.username), decodeURIComponent(database.password), database.pathname]).toEqual(['postgres', 'troupe_gateway', password, '/gateway']);
    expect(read('infra/postgres/start-with-roles.sh')).toMatch(/for service in [a-z ]*\bgateway\b/);
    expect(env().RABBITMQ_URL).toBeUndefined();
    expect(dependsOn('gateway')).toEqual({ postgres: 'service_healthy', jaeger: 'service_healthy' });
  });

  it('runs as locked down as the services: read-only, no capabilities, no new privileges', () => {
    const gateway = serviceOf('gateway');
    expect([gateway.read_only, gateway.cap_drop, gateway.security_opt]).toEqual([true, ['ALL'], ['no-new-privileges:true']]);
  });

  it('payment calls it by its compose name and port, and starts once it is healthy', () => {
    const url = new URL(envOf('payment').GATEWAY_URL as string);
    expect([url.hostname, Number(url.port)]).toEqual(['gateway', port()]);
    expect(dependsOn('payment')).toMatchObject({ gateway: 'service_healthy' });
  });
});

describe('docker-compose.yml: the observer', () => {
  it("the environment passes the observer's config schema, and every variable is one it reads", () => {
    const env = envOf('observer');
    const result = observerSchema.safeParse(env);
    expect((result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([]);
    expect(Object.keys(env).filter((key) => !(key in observerSchema.shape) && !key.startsWith('OTEL_') && !key.startsWith('NODE_'))).toEqual([]);
    expect(env.HOST).toBe('0.0.0.0');
  });

  it('connects as troupe-observer with its own password on every broker node, and has no database', () => {
    const urls = parseBrokerUrls(envOf('observer').RABBITMQ_URL as string);
    expect(urls.map((url) => url.hostname)).toEqual(RABBITMQ_NODES);
    for (const url of urls) expect([decodeURIComponent(url.username), decodeURIComponent(url.password)]).toEqual(['troupe-observer', SECRETS.OBSERVER_RABBITMQ_PASSWORD]);
    expect(envOf('observer').DATABASE_URL).toBeUndefined();
  });

  it('is built from the root Dockerfile (SERVICE=observer), publishes PORT on 127.0.0.1, runs read-only, and the page finds it', () => {
    const build = serviceOf('observer').build;
    expect([build?.context, String(build?.args?.SERVICE), Number(build?.args?.PORT)]).toEqual(['.', 'observer', portFromEnv('observer')]);
    expect(portsOf('observer')).toEqual([{ hostIp: '127.0.0.1', published: portFromEnv('observer'), target: portFromEnv('observer') }]);
    expect(serviceOf('observer').read_only).toBe(true);
    expect(envOf('web').OBSERVER_URL).toBe(`http://observer:${portFromEnv('observer')}`);
    expect(read('Dockerfile')).toMatch(/\|observer\|/);
  });
});

describe('docker-compose.yml: the web front', () => {
  const env = () => envOf('web');

  it("the environment passes the web front's config schema, every variable one it reads", () => {
    const result = (webSchema as ConfigSchema).safeParse(env());
    expect((result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`)).toEqual([]);
    const unknown = Object.keys(env()).filter((key) => !(key in (webSchema as ConfigSchema).shape) && !key.startsWith('OTEL_'));
    expect(unknown).toEqual([]);
  });

  it('talks to each service and the card gateway at the port it listens on, by its compose name', () => {
    for (const name of [...SERVICE_NAMES, 'gateway']) {
      const url = new URL(env()[`${name.toUpperCase()}_URL`] as string);
      expect([url.hostname, Number(url.port)]).toEqual([name, portFromEnv(name)]);
    }
  });

  it('is built from the root Dockerfile (SERVICE=web), publishes PORT on 127.0.0.1, and starts after the four services and the gateway are healthy, and the observer started', () => {
    const build = serviceOf('web').build;
    expect([build?.context, String(build?.args?.SERVICE), Number(build?.args?.PORT)]).toEqual(['.', 'web', portFromEnv('web')]);
    expect(portsOf('web')).toEqual([{ hostIp: '127.0.0.1', published: portFromEnv('web'), target: portFromEnv('web') }]);
    // The observer need not be healthy: without it the page says so in its map and invariants panels.
    expect(dependsOn('web')).toEqual({ ...Object.fromEntries([...SERVICE_NAMES, 'gateway'].map((name) => [name, 'service_healthy'])), observer: 'service_started' });
    expect(read('Dockerfile')).toMatch(/order\|payment\|inventory\|notification\|observer\|web\b/);
  });

  it("CMD is the web front's package.json start script too", () => {
    const cmd = finalStage.find((instruction) => instruction.keyword === 'CMD') as Instruction;
    const manifest = JSON.parse(read('services/web/package.json')) as { scripts: { start: string } };
    expect(JSON.parse(cmd.args)).toEqual(manifest.scripts.start.trim().split(/\s+/));
  });
});

describe('docker-compose.yml: the loadgen profile', () => {
  const loadgen = () => serviceOf('loadgen') as ComposeService & { profiles?: string[]; command?: string[] };

  it('runs only when asked for (profile loadgen), `troupe load` from the CLI image, against the order service', () => {
    expect(loadgen().profiles).toEqual(['loadgen']);
    expect(String(loadgen().build?.args?.SERVICE)).toBe('cli');
    expect(read('Dockerfile')).toMatch(/\|web\|cli\)/);
    const [node, entry, command] = loadgen().command ?? [];
    expect([node, entry, command]).toEqual(['node', 'dist/main.js', 'load']);
    expect(existsSync(join(root, 'shared/cli/src/main.ts'))).toBe(true);
    const url = new URL(envOf('loadgen').ORDER_URL as string);
    expect([url.hostname, Number(url.port)]).toEqual(['order', portFromEnv('order')]);
    expect(dependsOn('loadgen')).toMatchObject({ order: 'service_healthy' });
  });
});

describe('docker-compose.yml: the cluster profile', () => {
  const peers = RABBITMQ_NODES.filter((node) => node !== 'rabbitmq');
  const profilesOf = (name: string) => (serviceOf(name) as { profiles?: string[] }).profiles;
  const clusterConf = read('infra/rabbitmq/cluster.conf');

  it('adds two RabbitMQ nodes, only in the cluster profile, with the image of the first', () => {
    expect(profilesOf('rabbitmq')).toBeUndefined();
    for (const peer of peers) {
      expect(profilesOf(peer)).toEqual(['cluster']);
      expect(serviceOf(peer).image).toBe(serviceOf('rabbitmq').image);
      expect((serviceOf(peer) as { hostname?: string }).hostname).toBe(peer);
    }
  });

  it('the extra nodes join the first by classic config peer discovery, which names all three nodes', () => {
    expect(clusterConf).toMatch(/^cluster_formation\.peer_discovery_backend = classic_config$/m);
    const listed = [...clusterConf.matchAll(/^cluster_formation\.classic_config\.nodes\.\d+ = (\S+)$/gm)].map((m) => m[1]);
    expect(listed).toEqual(RABBITMQ_NODES.map((node) => `rabbit@${node}`));
    for (const peer of peers) {
      expect(serviceOf(peer).volumes).toContain('./infra/rabbitmq/cluster.conf:/etc/rabbitmq/conf.d/91-cluster.conf:ro');
      expect(dependsOn(peer)).toMatchObject({ rabbitmq: 'service_healthy' });
      expect(serviceOf(peer).healthcheck?.test).toEqual(expect.arrayContaining(['rabbitmq-diagnostics']));
    }
    // The first node never discovers: it starts alone, as it does without the profile.
    expect(JSON.stringify(serviceOf('rabbitmq').volumes)).not.toContain('cluster.conf');
  });

  it('every node has its own data volume and the same Erlang cookie, installed before its server starts', () => {
    const data = RABBITMQ_NODES.map((node) => (serviceOf(node).volumes ?? []).find((v) => String(v).endsWith(':/var/lib/rabbitmq')));
    expect(new Set(data).size).toBe(3);
    for (const node of RABBITMQ_NODES) {
      expect(serviceOf(node).secrets, node).toEqual([{ source: 'rabbitmq-erlang-cookie', mode: 0o400 }]);
      expect(serviceOf(node).volumes, node).toContain('./infra/rabbitmq/with-erlang-cookie.sh:/etc/troupe/with-erlang-cookie.sh:ro');
    }
    // The peers: the cookie, then the image's own entrypoint and command.
    for (const peer of peers) {
      expect([serviceOf(peer).entrypoint, serviceOf(peer).command], peer).toEqual([
        ['bash', '/etc/troupe/with-erlang-cookie.sh'],
        ['docker-entrypoint.sh', 'rabbitmq-server'],
      ]);
    }
    // The first node: its entrypoint starts the server the same way.
    expect(read('infra/rabbitmq/start-with-users.sh')).toMatch(/^bash \/etc\/troupe\/with-erlang-cookie\.sh docker-entrypoint\.sh rabbitmq-server &$/m);
  });

  it('every node runs the same rabbitmq.conf and advanced.config (the dead-letter confirm timeout)', () => {
    for (const node of RABBITMQ_NODES) {
      expect(serviceOf(node).volumes).toContain('./infra/rabbitmq/rabbitmq.conf:/etc/rabbitmq/conf.d/90-troupe.conf:ro');
      expect(serviceOf(node).volumes).toContain('./infra/rabbitmq/advanced.config:/etc/rabbitmq/advanced.config:ro');
    }
  });

  it('every service waits for the extra nodes when the profile is on, and not when it is off', () => {
    for (const name of SERVICE_NAMES) {
      const depends = serviceOf(name).depends_on as Record<string, { condition?: string; required?: boolean }>;
      for (const peer of peers) expect(depends[peer]).toEqual({ condition: 'service_healthy', required: false });
    }
  });
});

describe('Dockerfile', () => {
  it('every FROM is an exact, pinned node:24.x.y image (or an earlier stage)', () => {
    const froms = dockerfile.filter((instruction) => instruction.keyword === 'FROM').map((instruction) => instruction.args);
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const stageNames = froms.map((args) => /\bAS\s+(\S+)/i.exec(args)?.[1]).filter(Boolean);
    const images = froms
      .map((args) => args.replace(/--platform=\S+\s+/, '').split(/\s+/)[0] as string)
      .filter((image) => !stageNames.includes(image));
    expect(images.length).toBeGreaterThanOrEqual(1);
    for (const image of images) {
      expect(image).toMatch(PINNED_IMAGE);
      expect(image).toMatch(/^node:24\.\d+\.\d+-[a-z0-9-]+(?:@sha256:[a-f0-9]{64})?$/);
    }
  });

  it('the stage that downloads, installs and compiles sees no build argument, so the four images share it', () => {
    const shared = stages.filter((stage) => stage.some((i) => i.keyword === 'RUN' && /\bpnpm fetch\b/.test(i.args)));
    expect(shared).toHaveLength(1);
    const steps = shared[0] as Instruction[];
    expect(steps.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n')).toMatch(/pnpm install[\s\S]*tsc --build/);
    expect(steps.filter((i) => i.keyword === 'ARG').map((i) => i.args)).toEqual([]);
    expect(steps.filter((i) => /\$\{?(SERVICE|PORT)\b/.test(i.args)).map((i) => i.args)).toEqual([]);
  });

  it('the final stage runs as the unprivileged node user', () => {
    const users = finalStage.filter((instruction) => instruction.keyword === 'USER').map((instruction) => instruction.args);
    expect(users.at(-1)).toBe('node');
  });

  it('the final stage runs in production mode', () => {
    const env = finalStage.filter((instruction) => instruction.keyword === 'ENV').map((instruction) => instruction.args).join(' ');
    expect(env).toMatch(/\bNODE_ENV=production\b/);
  });

  it('bakes no secret into the image', () => {
    const declared = dockerfile
      .filter((instruction) => instruction.keyword === 'ENV' || instruction.keyword === 'ARG')
      .flatMap((instruction) => [...instruction.args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)(?==|\s|$)/g)].map((match) => match[1] as string));
    expect(declared.filter((name) => /PASS|SECRET|TOKEN|CREDENTIAL|PRIVATE|_KEY\b|_URL\b/i.test(name))).toEqual([]);
  });

  it.each(SERVICE_NAMES)("CMD is %s's package.json start script, and its entry point has a source file", (name) => {
    const cmds = finalStage.filter((instruction) => instruction.keyword === 'CMD');
    expect(cmds).toHaveLength(1);
    // Exec form (a JSON array): no shell in between, so SIGTERM reaches node.
    const argv = JSON.parse((cmds[0] as Instruction).args) as string[];

    const manifest = JSON.parse(read(`services/${name}/package.json`)) as { scripts?: { start?: string } };
    const start = manifest.scripts?.start;
    expect(start, `services/${name}/package.json has no start script`).toBeTruthy();
    expect(argv).toEqual((start as string).trim().split(/\s+/));

    // dist/x.js is compiled from src/x.ts (rootDir src, outDir dist).
    const entryPoints = argv.filter((arg) => /^(?:\.\/)?dist\/.+\.js$/.test(arg));
    expect(entryPoints.length).toBeGreaterThanOrEqual(1);
    for (const entry of entryPoints) {
      const source = entry.replace(/^(?:\.\/)?dist\//, 'src/').replace(/\.js$/, '.ts');
      expect(existsSync(join(root, 'services', name, source)), `services/${name}/${source}`).toBe(true);
    }
  });

  it("installs the pnpm version the root package.json's packageManager names", () => {
    const manifest = JSON.parse(read('package.json')) as { packageManager?: string };
    const wanted = manifest.packageManager?.replace(/^pnpm@/, '').replace(/\+.*$/, '');
    const installed = dockerfile
      .filter((instruction) => instruction.keyword === 'RUN')
      .flatMap((instruction) => [...instruction.args.matchAll(/\bpnpm@(\d+\.\d+\.\d+)/g)].map((match) => match[1]));
    expect(installed).toEqual([wanted]);
  });

  it('the build context leaves out node_modules, dist and *.tsbuildinfo (a stale one would skip the compile)', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '**/*.tsbuildinfo', '.git']));
  });
});

describe('infra/postgres and infra/rabbitmq: each service its own role and user', () => {
  const roles = read('infra/postgres/start-with-roles.sh');
  const users = read('infra/rabbitmq/start-with-users.sh');

  it("Postgres' entrypoint creates a role and a database for exactly the services in the DATABASE_URLs, and is mounted", () => {
    const listed = /for service in ([a-z ]+); do/.exec(roles)?.[1]?.split(' ') ?? [];
    const wanted = [...SERVICE_NAMES, 'gateway'].map((name) => decodeURIComponent(new URL(envOf(name).DATABASE_URL as string).pathname.slice(1)));
    expect([...listed].sort()).toEqual([...wanted].sort());
    expect(roles).toMatch(/NOSUPERUSER NOCREATEDB NOCREATEROLE/);
    expect(roles).toMatch(/REVOKE ALL ON DATABASE :"db" FROM PUBLIC/);
    expect(serviceOf('postgres').volumes).toEqual(expect.arrayContaining(['./infra/postgres/start-with-roles.sh:/etc/troupe/start-with-roles.sh:ro']));
    expect((serviceOf('postgres') as { entrypoint?: string[] }).entrypoint).toEqual(['bash', '/etc/troupe/start-with-roles.sh']);
  });

  it("the broker's entrypoint gives each service exactly the permissions of brokerPermissionsOf, and is mounted", () => {
    const granted = Object.fromEntries(
      [...users.matchAll(/^user (troupe-([a-z]+)) "\$\{([A-Z]+)_RABBITMQ_PASSWORD:\?\}" '([^']+)' '([^']+)' '([^']+)'$/gm)].map((m) => {
        // Each user gets its own service's password.
        expect(m[3], m[1]).toBe(m[2]?.toUpperCase());
        return [m[1], { configure: m[4], write: m[5], read: m[6] }];
      }),
    );
    expect(granted).toEqual({
      ...Object.fromEntries(SERVICE_NAMES.map((name) => [`troupe-${name}`, brokerPermissionsOf(name as ServiceName)])),
      'troupe-observer': observerPermissions(),
    });
    expect(serviceOf('rabbitmq').volumes).toEqual(expect.arrayContaining(['./infra/rabbitmq/start-with-users.sh:/etc/troupe/start-with-users.sh:ro']));
    expect((serviceOf('rabbitmq') as { entrypoint?: string[] }).entrypoint).toEqual(['bash', '/etc/troupe/start-with-users.sh']);
  });

  it('the health checks pass only once the users and roles are in place', () => {
    expect(JSON.stringify(serviceOf('rabbitmq').healthcheck?.test)).toContain('/tmp/troupe-users-ready');
    expect(users).toContain('touch "$ready"');
    expect(JSON.stringify(serviceOf('postgres').healthcheck?.test)).toContain('/tmp/troupe-roles-ready');
    expect(roles).toContain('touch "$ready"');
  });
});

describe('infra/prometheus', () => {
  const config = parse(read('infra/prometheus/prometheus.yml')) as {
    scrape_configs: { job_name: string; metrics_path?: string; static_configs?: { targets: string[] }[] }[];
  };
  const targetsOf = (job: { static_configs?: { targets: string[] }[] }) => (job.static_configs ?? []).flatMap((sc) => sc.targets);

  it.each([...SERVICE_NAMES, 'gateway'])('scrapes %s on the port its compose environment gives it', (name) => {
    const jobs = config.scrape_configs.filter((job) => targetsOf(job).includes(`${name}:${portFromEnv(name)}`));
    expect(jobs).toHaveLength(1);
    expect((jobs[0] as { metrics_path?: string }).metrics_path ?? '/metrics').toBe('/metrics');
  });

  it("scrapes RabbitMQ's per-object endpoint (per-queue depths)", () => {
    const perObject = config.scrape_configs.filter(
      (job) => job.metrics_path === '/metrics/per-object' && targetsOf(job).includes('rabbitmq:15692'),
    );
    expect(perObject).toHaveLength(1);
  });

  it('is mounted where the prometheus image reads its configuration, the rule files beside it', () => {
    expect(serviceOf('prometheus').volumes).toEqual(
      expect.arrayContaining(['./infra/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro', './infra/prometheus/rules:/etc/prometheus/rules:ro']),
    );
    expect((config as { rule_files?: string[] }).rule_files).toEqual(['rules/troupe.yml']);
  });

  it('scrapes the observer in a job of its own, the job its down alert names', () => {
    const jobs = config.scrape_configs.filter((job) => targetsOf(job).includes(`observer:${portFromEnv('observer')}`));
    expect(jobs.map((job) => job.job_name)).toEqual(['troupe-observer']);
    expect(read('infra/prometheus/rules/troupe.yml')).toContain('up{job="troupe-observer"}');
  });

  it('every job="…" the dashboard filters on is a scrape job', () => {
    const jobs = config.scrape_configs.map((job) => job.job_name);
    const used = queryPanels.flatMap(exprsOf).flatMap((expr) => [...expr.matchAll(/\bjob\s*=~?\s*"([^"]+)"/g)].map((m) => m[1]));
    expect(used.filter((job) => !jobs.includes(job as string))).toEqual([]);
  });
});

describe('infra/grafana', () => {
  it('the dashboard is "troupe workflow" and every panel has a title', () => {
    expect(dashboard.title).toBe('troupe workflow');
    expect(queryPanels.length).toBeGreaterThan(0);
    expect(queryPanels.filter((panel) => !panel.title).length).toBe(0);
  });

  it('every query names only metrics the services (or RabbitMQ) export', () => {
    const variableQueries = (dashboard.templating?.list ?? []).map((variable) =>
      typeof variable.query === 'string' ? variable.query : (variable.query?.query ?? ''),
    );
    const fromVariables = variableQueries.flatMap((query) => [...query.matchAll(/label_values\(\s*([A-Za-z_:][A-Za-z0-9_:]*)\s*,/g)].map((m) => m[1] as string));
    const fromPanels = queryPanels.flatMap(exprsOf).flatMap(metricsIn);
    expect(fromPanels.length).toBeGreaterThan(0);
    expect([...fromPanels, ...fromVariables].filter((name) => !isKnownSeries(name))).toEqual([]);
  });

  it.each([
    ['orders placed per second', ['troupe_orders_placed_total']],
    ['orders completed per second', ['troupe_orders_completed_total']],
    ['orders cancelled per second', ['troupe_orders_cancelled_total']],
    ['placed → completed latency', ['troupe_order_completion_duration_seconds_bucket']],
    ['messages consumed by queue, type and outcome', ['troupe_messages_consumed_total']],
    ['handler duration', ['troupe_message_handler_duration_seconds_bucket']],
    ['retries', ['troupe_messages_retried_total']],
    ['dead letters', ['troupe_messages_dead_lettered_total']],
    ['inbox duplicates', ['troupe_inbox_duplicates_total']],
    ['outbox pending', ['troupe_outbox_pending_messages']],
    ['outbox oldest age', ['troupe_outbox_oldest_age_seconds']],
    ['consumers up', ['troupe_consumer_up']],
    ['HTTP requests', ['troupe_http_requests_total']],
    ['queue depths', ['rabbitmq_queue_messages_ready', 'rabbitmq_queue_messages']],
    ['open business-invariant violations, and those found', ['troupe_invariant_violations_open', 'troupe_invariant_violations_total']],
    ['the traffic the observer sees, declared or not', ['troupe_observer_messages_total']],
  ])('a panel shows %s', (_area, metrics) => {
    for (const metric of metrics) {
      const panels = queryPanels.filter((panel) => exprsOf(panel).some((expr) => metricsIn(expr).includes(metric)));
      expect(panels.map((panel) => panel.title), metric).not.toEqual([]);
    }
  });

  it('the completion latency panel shows p50, p95 and p99; the handler panel p95', () => {
    const quantiles = (histogram: string): number[] =>
      queryPanels
        .flatMap(exprsOf)
        .filter((expr) => metricsIn(expr).includes(`${histogram}_bucket`))
        .flatMap((expr) => [...expr.matchAll(/histogram_quantile\(\s*([\d.]+)/g)].map((m) => Number(m[1])));
    expect(quantiles('troupe_order_completion_duration_seconds')).toEqual(expect.arrayContaining([0.5, 0.95, 0.99]));
    expect(quantiles('troupe_message_handler_duration_seconds')).toContain(0.95);
  });

  it('the consume-rate panel breaks down by queue, type and outcome', () => {
    const exprs = queryPanels.flatMap(exprsOf).filter((expr) => metricsIn(expr).includes('troupe_messages_consumed_total'));
    expect(exprs.some((expr) => /by\s*\(([^)]*)\)/.test(expr) && ['queue', 'type', 'outcome'].every((l) => new RegExp(`by\\s*\\([^)]*\\b${l}\\b`).test(expr)))).toBe(true);
  });

  it('every panel and variable uses the provisioned Prometheus data source', () => {
    const provisioned = parse(read('infra/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: { uid: string; type: string; url: string }[];
    };
    const prometheus = provisioned.datasources.find((source) => source.type === 'prometheus');
    expect(prometheus?.url).toBe(`http://prometheus:${portsOf('prometheus')[0]?.target ?? 9090}`);
    const uids = [
      ...queryPanels.flatMap((panel) => [panel.datasource?.uid, ...(panel.targets ?? []).map((t) => t.datasource?.uid)]),
      ...(dashboard.templating?.list ?? []).map((variable) => variable.datasource?.uid),
    ].filter((uid) => uid !== undefined);
    expect(uids.length).toBeGreaterThan(0);
    expect(new Set(uids)).toEqual(new Set([prometheus?.uid]));
  });

  it('the dashboard folder and the provisioning are mounted where Grafana looks for them', () => {
    const provider = parse(read('infra/grafana/provisioning/dashboards/troupe.yml')) as {
      providers: { options: { path: string } }[];
    };
    const volumes = serviceOf('grafana').volumes ?? [];
    expect(volumes).toContain(`./infra/grafana/dashboards:${provider.providers[0]?.options.path}:ro`);
    expect(volumes).toContain('./infra/grafana/provisioning:/etc/grafana/provisioning:ro');
  });
});

describe('scripts/print-urls.sh', () => {
  it('lists every port compose publishes', () => {
    const script = read('scripts/print-urls.sh');
    const published = Object.keys(compose.services).flatMap((name) => portsOf(name).map((port) => port.published));
    expect(published.filter((port) => !script.includes(`127.0.0.1:${port}`))).toEqual([]);
  });

  it("prints docs/operations.md's list of addresses, line for line (one list, not two)", () => {
    const printed = execFileSync('bash', [join(root, 'scripts/print-urls.sh')], { encoding: 'utf8' }).trimEnd();
    const section = read('docs/operations.md').split(/^## /m).find((part) => part.startsWith('Where to look')) ?? '';
    const listed = /```text\n([\s\S]*?)\n```/.exec(section)?.[1];
    expect(listed, 'docs/operations.md: a ```text block under "Where to look"').toBeDefined();
    expect(listed).toBe(printed);
  });
});
