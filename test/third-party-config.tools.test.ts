/**
 * The third-party tools' configuration, checked by their own rules where a checker can run
 * without the tool's image: docker-compose.yml against the Compose Specification's JSON schema
 * and by `docker compose config` on every profile, Prometheus' configuration with promtool, RabbitMQ's rabbitmq.conf against the keys its 4.x
 * schemas define, advanced.config read by Erlang.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import Ajv from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cleanEnv, composeArgs, composeConfig, composeFor } from './docker-compose';

const root = resolve(__dirname, '..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

describe('docker-compose.yml against the Compose Specification', () => {
  // dclint (a Compose linter) ships the specification's schema, kept current with it.
  const schemaPath = join(dirname(createRequire(__filename).resolve('dclint/package.json')), 'schemas', 'compose.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as { title?: string; $schema?: string };
  // The schema names draft-07 by its https address; Ajv knows draft-07 by its canonical id.
  const validate = new Ajv({ strict: false, allErrors: true }).compile({ ...schema, $schema: 'http://json-schema.org/draft-07/schema#' });

  it('the schema is the Compose Specification, in JSON Schema draft-07', () => {
    expect(schema.title).toBe('Compose Specification');
    expect(schema.$schema).toMatch(/json-schema\.org\/draft-07\/schema/);
  });

  it('the file is valid against it (YAML merge keys resolved, as compose resolves them)', () => {
    const valid = validate(parse(read('docker-compose.yml'), { merge: true }));
    expect((validate.errors ?? []).map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`)).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema refuses what compose refuses (a misspelt key), so the check can fail', () => {
    expect(validate({ services: { order: { image: 'x', helthcheck: {} } } })).toBe(false);
  });
});

// --- Docker Compose ------------------------------------------------------------------------------

describe('docker-compose.yml with docker compose config, on every profile', () => {
  const found = composeFor('docker-compose.yml with docker compose config');
  if (found === undefined) return;
  const cli = found.cli;

  const services = (parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, { profiles?: string[] }> }).services;
  const declared = [...new Set(Object.values(services).flatMap((service) => service.profiles ?? []))].sort();
  /** What compose runs with `profiles` on: the services without a profile, and those of a profile turned on. */
  const expected = (profiles: string[]): string[] =>
    Object.entries(services)
      .filter(([, service]) => (service.profiles ?? []).length === 0 || profiles.includes('*') || (service.profiles ?? []).some((p) => profiles.includes(p)))
      .map(([name]) => name)
      .sort();
  const listed = (text: string): string[] => text.trim().split('\n').filter(Boolean).sort();

  it(`compose (${found.version}) finds the profiles the file declares, and there is at least one`, () => {
    expect(declared.length).toBeGreaterThan(0);
    expect(listed(composeConfig(cli, { args: ['--profiles'] }))).toEqual(declared);
  });

  // Without a profile (what `docker compose up` runs), each profile alone, and all of them at once.
  const runs: [string, string[]][] = [
    ['none', []],
    ...declared.map((profile): [string, string[]] => [profile, [profile]]),
    ['all (*)', ['*']],
  ];
  it.each(runs)('profile %s: compose accepts the file (config --quiet) and runs the services it should', (_name, profiles) => {
    expect(() => composeConfig(cli, { profiles, args: ['--quiet'] })).not.toThrow();
    expect(listed(composeConfig(cli, { profiles, args: ['--services'] }))).toEqual(expected(profiles));
  });

  it('a file that passes with a profile on can fail with it off, so every profile is checked (and the check can fail)', () => {
    // The services wait for the cluster profile's nodes with `required: false`; without it, the
    // file is fine with --profile cluster and refused without.
    const broken = read('docker-compose.yml').replace(/^\s*required: false\n/gm, '');
    const check = (profiles: string[]) =>
      spawnSync(cli, [...composeArgs({ profiles, file: '-' }), 'config', '--quiet'], { input: broken, encoding: 'utf8', env: cleanEnv() });
    expect(check(['cluster']).status).toBe(0);
    const off = check([]);
    expect(off.status).not.toBe(0);
    expect(off.stderr).toMatch(/depends on undefined service "rabbitmq-[23]"/);
  });
});

// --- Prometheus ----------------------------------------------------------------------------------

const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
const promtoolVersion = promtool.status === 0 ? `${promtool.stdout}${promtool.stderr}`.split('\n')[0] : undefined;

describe('infra/prometheus with promtool', () => {
  if (promtoolVersion === undefined) {
    const why = "promtool is not installed (Debian: apt-get install --no-install-recommends prometheus)";
    if (process.env.CI === 'true') {
      it('promtool checks the Prometheus configuration (CI needs promtool)', () => {
        throw new Error(why);
      });
    } else {
      console.warn(`\n*** SKIPPED: Prometheus' configuration was NOT checked with promtool — ${why}. ***\n`);
      it.skip(`promtool check config (skipped: ${why})`, () => {});
    }
    return;
  }

  it(`promtool check config passes, rule files included (${promtoolVersion})`, () => {
    const result = spawnSync('promtool', ['check', 'config', 'infra/prometheus/prometheus.yml'], { cwd: root, encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });

  it("promtool's unit tests of the alerting rules pass: an invariant open for a minute pages, one that mends sooner does not, drift and a silent observer open tickets", () => {
    const result = spawnSync('promtool', ['test', 'rules', 'infra/prometheus/rules/troupe.test.yml'], { cwd: root, encoding: 'utf8' });
    expect(result.status, `${result.stdout}${result.stderr}`).toBe(0);
    expect(result.stdout).toMatch(/SUCCESS/);
  });

  it('when the invariant rule waits no minute, then its unit test fails (the rule tests can fail)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-rules-'));
    try {
      const rules = readFileSync(join(root, 'infra/prometheus/rules/troupe.yml'), 'utf8');
      expect(rules).toContain('for: 1m');
      writeFileSync(join(dir, 'troupe.yml'), rules.replace('for: 1m', 'for: 0s'));
      copyFileSync(join(root, 'infra/prometheus/rules/troupe.test.yml'), join(dir, 'troupe.test.yml'));
      const result = spawnSync('promtool', ['test', 'rules', join(dir, 'troupe.test.yml')], { encoding: 'utf8' });
      expect(result.status).not.toBe(0);
      expect(`${result.stdout}${result.stderr}`).toMatch(/FAILED/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('promtool refuses a broken configuration, so the check can fail', () => {
    let failed = false;
    try {
      execFileSync('promtool', ['check', 'config', '/dev/stdin'], { input: 'scrape_configs:\n  - job_name: x\n    scrape_interval: soon\n', stdio: 'pipe' });
    } catch {
      failed = true;
    }
    expect(failed).toBe(true);
  });
});

// --- RabbitMQ ------------------------------------------------------------------------------------

/**
 * The keys rabbitmq.conf may set, from RabbitMQ 4.x's cuttlefish schemas (rabbit.schema and the
 * plugins' own), each with the values the schema accepts. Extend it from those schemas when the
 * configuration needs a new key; a key not listed (a typo, or one a newer or older major
 * renamed) fails here instead of stopping the broker at boot.
 */
const RABBITMQ_4_KEYS: { key: RegExp; values: RegExp; source: string }[] = [
  {
    // The deprecated features RabbitMQ 4 still knows (classic_queue_mirroring was removed in 4.0).
    key: /^deprecated_features\.permit\.(global_qos|transient_nonexcl_queues|management_metrics_collection|ram_node_type|amqp_address_v1|queue_master_locator)$/,
    values: /^(true|false)$/,
    source: 'rabbit.schema: deprecated_features.permit.$name',
  },
  { key: /^prometheus\.return_per_object_metrics$/, values: /^(true|false)$/, source: 'rabbitmq_prometheus.schema' },
  { key: /^prometheus\.path$/, values: /^\/\S*$/, source: 'rabbitmq_prometheus.schema' },
  { key: /^prometheus\.tcp\.port$/, values: /^\d+$/, source: 'rabbitmq_prometheus.schema' },
  { key: /^management\.tcp\.port$/, values: /^\d+$/, source: 'rabbitmq_management.schema' },
  { key: /^loopback_users\.\S+$/, values: /^(true|false)$/, source: 'rabbit.schema' },
  { key: /^max_message_size$/, values: /^\d+$/, source: 'rabbit.schema' },
  { key: /^log\.console\.level$/, values: /^(debug|info|notice|warning|error|critical|none)$/, source: 'rabbit.schema' },
];
/** Plugins the rabbitmq:4.x-management image ships and troupe may enable. */
const RABBITMQ_4_PLUGINS = ['rabbitmq_management', 'rabbitmq_management_agent', 'rabbitmq_prometheus', 'rabbitmq_shovel', 'rabbitmq_shovel_management'];

describe('infra/rabbitmq for the pinned RabbitMQ major', () => {
  const compose = parse(read('docker-compose.yml')) as { services: { rabbitmq: { image: string } } };

  it('the pinned image is RabbitMQ 4 (the major these keys are checked for)', () => {
    expect(compose.services.rabbitmq.image).toMatch(/^rabbitmq:4\.\d+\.\d+/);
  });

  const settings = read('infra/rabbitmq/rabbitmq.conf')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.length > 0);

  it('every line of rabbitmq.conf is `key = value`', () => {
    expect(settings.length).toBeGreaterThan(0);
    expect(settings.filter((line) => !/^[a-z0-9_.$-]+\s*=\s*\S.*$/i.test(line))).toEqual([]);
  });

  it("every key is one RabbitMQ 4's schemas define, with a value they accept", () => {
    const wrong = settings.flatMap((line) => {
      const [key = '', value = ''] = line.split('=').map((part) => part.trim());
      const known = RABBITMQ_4_KEYS.find((entry) => entry.key.test(key));
      if (!known) return [`${key}: no such key in RabbitMQ 4`];
      return known.values.test(value) ? [] : [`${key} = ${value}: not a value ${known.source} accepts`];
    });
    expect(wrong).toEqual([]);
  });

  it('enabled_plugins is an Erlang list of plugins the image ships', () => {
    const text = read('infra/rabbitmq/enabled_plugins').trim();
    expect(text).toMatch(/^\[\s*[a-z_]+(\s*,\s*[a-z_]+)*\s*\]\.$/);
    const plugins = text.replace(/[[\].\s]/g, '').split(',');
    expect(plugins.filter((plugin) => !RABBITMQ_4_PLUGINS.includes(plugin))).toEqual([]);
  });

  // advanced.config is Erlang terms: read by Erlang itself (installed with RabbitMQ), as the broker reads it.
  const erl = spawnSync('erl', ['-noshell', '-eval', 'halt().'], { encoding: 'utf8' }).status === 0;
  const consult = (path: string) =>
    spawnSync('erl', ['-noshell', '-eval', `case file:consult("${path}") of {ok, [T]} -> io:format("~0p", [T]); E -> io:format("~0p", [E]) end, halt().`], {
      cwd: root,
      encoding: 'utf8',
    }).stdout;
  it.runIf(erl || process.env.CI === 'true')('advanced.config holds one term: settings of the rabbit application only', () => {
    expect(consult('infra/rabbitmq/advanced.config')).toBe('[{rabbit,[{dead_letter_worker_publisher_confirm_timeout,5000}]}]');
    // A missing full stop, the classic advanced.config mistake, is refused: the check can fail.
    const dir = mkdtempSync(join(tmpdir(), 'troupe-advanced-'));
    try {
      writeFileSync(join(dir, 'advanced.config'), '[{rabbit, []}]\n');
      expect(consult(join(dir, 'advanced.config'))).toMatch(/^\{error,/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
  if (!erl && process.env.CI !== 'true') console.warn('\n*** SKIPPED: advanced.config was NOT read with Erlang — erl is not installed (it comes with RabbitMQ). ***\n');
});
