/**
 * scripts/make-env.sh, run as `make env` and `make up` run it: the secrets docker-compose.yml
 * requires, generated into a .env of a temporary directory.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readEnvFile } from './docker-compose';

const SCRIPT = resolve(__dirname, '..', 'scripts/make-env.sh');
/** What docker-compose.yml requires (test/compose.tools.test.ts holds the file to this list). */
const REQUIRED = [
  'RABBITMQ_PASSWORD',
  'POSTGRES_PASSWORD',
  'GRAFANA_ADMIN_PASSWORD',
  'RABBITMQ_ERLANG_COOKIE',
  'OPERATOR_READ_TOKEN',
  ...['ORDER', 'PAYMENT', 'INVENTORY', 'NOTIFICATION'].flatMap((service) => [`${service}_RABBITMQ_PASSWORD`, `${service}_POSTGRES_PASSWORD`]),
  'GATEWAY_POSTGRES_PASSWORD',
  'OBSERVER_RABBITMQ_PASSWORD',
];

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'troupe-make-env-'));
  file = join(dir, '.env');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const makeEnv = (target = file): string => execFileSync('bash', [SCRIPT, target], { encoding: 'utf8', timeout: 20_000 });
const modeOf = (path: string) => statSync(path).mode & 0o777;

// Each test runs the script once or twice: a few seconds on a busy machine.
describe('scripts/make-env.sh', { timeout: 30_000 }, () => {
  it('when there is no .env, then it writes every secret compose requires, each random, URL-safe and distinct, in a file only its owner can read', () => {
    const printed = makeEnv();

    const env = readEnvFile(file);
    expect(Object.keys(env).sort()).toEqual([...REQUIRED].sort());
    for (const [name, value] of Object.entries(env)) expect(value, name).toMatch(/^[0-9a-f]{32}$/);
    expect(new Set(Object.values(env)).size).toBe(REQUIRED.length);
    expect(modeOf(file)).toBe(0o600);
    expect(printed).toContain('generated');
  });

  it('when run twice, then the second run changes nothing', () => {
    makeEnv();
    const first = readFileSync(file, 'utf8');

    const printed = makeEnv();

    expect(readFileSync(file, 'utf8')).toBe(first);
    expect(printed).toContain('none changed');
  });

  it('when run for two clones, then they get different secrets', () => {
    const other = join(dir, 'other.env');
    makeEnv();
    makeEnv(other);

    const [a, b] = [readEnvFile(file), readEnvFile(other)];
    expect(REQUIRED.filter((name) => a[name] === b[name])).toEqual([]);
  });

  it('when .env already has some values and other settings, then it keeps them all, adds only what is missing and makes the file private', () => {
    const mine = 'LOAD_RATE=50\n# my own note\nRABBITMQ_PASSWORD=chosen-by-me\nexport ORDER_POSTGRES_PASSWORD=also-mine\nPAYMENT_RABBITMQ_PASSWORD=';
    writeFileSync(file, mine);
    chmodSync(file, 0o644);

    const printed = makeEnv();

    const text = readFileSync(file, 'utf8');
    expect(text.startsWith(`${mine}\n`)).toBe(true);
    const env = readEnvFile(file);
    expect(env).toMatchObject({ LOAD_RATE: '50', RABBITMQ_PASSWORD: 'chosen-by-me', ORDER_POSTGRES_PASSWORD: 'also-mine' });
    // An empty value is no value (compose's `:?` refuses it): the generated line comes after it and wins.
    expect(env.PAYMENT_RABBITMQ_PASSWORD).toMatch(/^[0-9a-f]{32}$/);
    const generated = printed.replace(/^.*generated /s, '').trim().split(/\s+/);
    expect(generated).toContain('PAYMENT_RABBITMQ_PASSWORD');
    expect(generated).not.toContain('RABBITMQ_PASSWORD');
    expect(generated).not.toContain('ORDER_POSTGRES_PASSWORD');
    expect(REQUIRED.filter((name) => !env[name])).toEqual([]);
    expect(modeOf(file)).toBe(0o600);
  });
});
