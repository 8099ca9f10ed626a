import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, it } from 'vitest';

/**
 * Docker Compose v2 (the `docker compose` CLI plugin), as the tests run it. `docker compose
 * config` checks docker-compose.yml by compose's own rules and gives the file as compose reads it
 * (merge keys, interpolation and profiles resolved); it needs no Docker engine.
 * `docker compose build` builds troupe's images from the file's own build sections
 * (e2e/images.e2e.test.ts). DOCKER_CLI names the docker CLI to use.
 */
export type Compose = { cli: string; version: string } | { cli: undefined; reason: string };

const ROOT = resolve(__dirname, '..');
export const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');

/** The docker CLIs to try, in order: DOCKER_CLI, Debian's, the one on PATH. */
export const dockerClis = (): string[] =>
  [...new Set([process.env.DOCKER_CLI, '/usr/bin/docker', 'docker'].filter((cli): cli is string => !!cli))].filter(
    (cli) => !cli.startsWith('/') || existsSync(cli),
  );

/** The version of the CLI's compose plugin; throws, saying why, when it has none or not v2. */
export function composeVersionOf(cli: string): string {
  let version: string;
  try {
    version = execFileSync(cli, ['compose', 'version', '--short'], { encoding: 'utf8', stdio: 'pipe', timeout: 15_000 }).trim();
  } catch (error) {
    const detail = (error as { stderr?: Buffer }).stderr?.toString().trim().split('\n')[0] || (error as Error).message;
    throw new Error(`${cli}: no compose plugin (${detail})`);
  }
  // v1 (the docker-compose 1.x program) is no plugin, and builds without BuildKit.
  if (!/^v?2\./.test(version)) throw new Error(`${cli}: docker compose ${version} is not Compose v2`);
  return version;
}

export function findCompose(): Compose {
  const reasons: string[] = [];
  for (const cli of dockerClis()) {
    try {
      return { cli, version: composeVersionOf(cli) };
    } catch (error) {
      reasons.push((error as Error).message);
    }
  }
  return { cli: undefined, reason: reasons.length > 0 ? reasons.join('; ') : 'no docker CLI found' };
}

/**
 * The docker CLI to run compose with, for the tests of a describe block that need it. Without
 * compose the block gets one test that says so: skipped with a loud line, or failed under CI=true
 * (CI's machine must run every test).
 */
export function composeFor(what: string): { cli: string; version: string } | undefined {
  const found = findCompose();
  if (found.cli !== undefined) return found;
  const why = `Docker Compose v2 is not installed (${found.reason}); install it as the \`docker compose\` CLI plugin (Debian 13: apt-get install docker-compose; Docker's packages: docker-compose-plugin)`;
  if (process.env.CI === 'true') {
    it(`${what} (CI needs Docker Compose v2)`, () => {
      throw new Error(why);
    });
  } else {
    console.warn(`\n*** SKIPPED: ${what} was NOT checked — ${why}. ***\n`);
    it.skip(`${what} (skipped: ${why})`, () => {});
  }
  return undefined;
}

/** A service as `docker compose config --format json` gives it (the parts the tests read). */
export interface ComposeModelService {
  image?: string;
  build?: { context: string; dockerfile: string; args?: Record<string, string> };
  profiles?: string[];
  environment?: Record<string, string | null>;
  ports?: { host_ip?: string; target: number; published?: string; protocol?: string }[];
  healthcheck?: { test?: string[] };
  depends_on?: Record<string, { condition: string; required: boolean }>;
  command?: string[] | null;
  read_only?: boolean;
  tmpfs?: string[];
  cap_drop?: string[];
  security_opt?: string[];
  init?: boolean;
  stop_grace_period?: string;
}

export interface ComposeModel {
  name: string;
  services: Record<string, ComposeModelService>;
}

let generatedEnvDir: string | undefined;

// Registered as each test file imports this module, so it runs once that file's tests are done: a
// test worker is ended without its process 'exit' handlers running.
afterAll(() => {
  if (generatedEnvDir !== undefined) rmSync(generatedEnvDir, { recursive: true, force: true });
  generatedEnvDir = undefined;
});

/**
 * The secrets docker-compose.yml requires, as `make env` generates them (scripts/make-env.sh),
 * into a file of the tests' own: random values, once per test file, never a developer's .env and
 * never values written down anywhere. The file is deleted after the file's tests.
 */
export function testEnvFile(): string {
  if (generatedEnvDir === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-compose-env-'));
    execFileSync('bash', [join(ROOT, 'scripts/make-env.sh'), join(dir, '.env')], { stdio: 'pipe' });
    generatedEnvDir = dir;
  }
  return join(generatedEnvDir, '.env');
}

/** The variables of a .env file (NAME=value lines; comments and blank lines skipped). */
export const readEnvFile = (path: string): Record<string, string> =>
  Object.fromEntries(
    readFileSync(path, 'utf8')
      .split('\n')
      .map((line) => /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line))
      .filter((match): match is RegExpExecArray => match !== null)
      .map((match) => [match[1] as string, match[2] as string]),
  );

/**
 * The arguments that point compose at troupe's file (or `file`, '-' for stdin, read from the
 * project's directory): `profiles` turned on ('*' for all), and the tests' generated secrets as
 * the only env file (`envFile`; '/dev/null' for none), so a developer's local .env cannot change
 * what the tests see.
 */
export function composeArgs({ profiles = [], projectName, file = COMPOSE_FILE, envFile = testEnvFile() }: { profiles?: string[]; projectName?: string; file?: string; envFile?: string } = {}): string[] {
  return [
    'compose',
    '--project-directory', ROOT,
    '--file', file,
    '--env-file', envFile,
    ...(projectName ? ['--project-name', projectName] : []),
    ...profiles.flatMap((profile) => ['--profile', profile]),
  ];
}

/**
 * An environment with nothing of compose's variables in it (they come from the env file alone),
 * only what the CLI itself needs.
 */
export const cleanEnv = (): NodeJS.ProcessEnv =>
  Object.fromEntries(
    Object.entries(process.env).filter(([key]) => ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_CONFIG', 'DOCKER_CONTEXT', 'DOCKER_BUILDKIT'].includes(key)),
  );

/** `docker compose config` with `args` after it; throws with compose's own message when it refuses the file. */
export function composeConfig(cli: string, { profiles = [], args = [], envFile }: { profiles?: string[]; args?: string[]; envFile?: string } = {}): string {
  return execFileSync(cli, [...composeArgs({ profiles, envFile }), 'config', ...args], { encoding: 'utf8', stdio: 'pipe', env: cleanEnv(), timeout: 30_000 });
}

/** The file as compose reads it, with `profiles` turned on. */
export const composeModel = (cli: string, profiles: string[] = []): ComposeModel =>
  JSON.parse(composeConfig(cli, { profiles, args: ['--format', 'json'] })) as ComposeModel;
