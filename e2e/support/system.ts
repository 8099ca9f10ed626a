import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SERVICES, type ServiceName } from '@troupe/contracts';
import { createTestDatabase, createTestVhost, freePort, type Access, type TestDatabase, type TestVhost } from '@troupe/testing';
import { contracts } from './contracts';

/**
 * The four services and the card gateway as real processes, started exactly as users start them
 * (each package's `start` script, as scripts/dev.js does), against a vhost and five databases of
 * their own.
 */
export { freePort, SERVICES };
export type Service = ServiceName;
/** What a System runs: the four services and the card gateway they charge through. */
export type Process = Service | 'gateway';
export const PROCESSES: readonly Process[] = ['gateway', ...SERVICES];
/** A package with a `start` script under services/: the four services, the gateway and the web front. */
export type Startable = Process | 'observer' | 'web';

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** From the moment the signal was sent (or the process spawned) to its exit. */
  ms: number;
}

const ROOT = join(__dirname, '..', '..');
/**
 * The operator's read token every System's processes (and the web front) get, unless a test sets
 * its own OPERATOR_READ_TOKEN: the order list, failed attempts and the ledger need it.
 */
export const OPERATOR_READ_TOKEN = 'e2e-operator-read-token-0123';
/** `Authorization` for an operator's read, as `fetch` headers. */
export const operatorHeaders = { authorization: `Bearer ${OPERATOR_READ_TOKEN}` };
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const MAX_LOG_LINES = 20_000;

/** Every line any service printed, in arrival order, so a failing test can show what happened. */
export class Logs {
  private lines: { seq: number; text: string }[] = [];
  private seq = 0;

  add(prefix: string, chunk: string): void {
    for (const line of chunk.split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push({ seq: ++this.seq, text: `${prefix} | ${line}` });
    }
    if (this.lines.length > MAX_LOG_LINES) this.lines.splice(0, this.lines.length - MAX_LOG_LINES);
  }

  /** A position to show the logs from (see `since`). */
  mark(): number {
    return this.seq;
  }

  since(mark = 0): string {
    return this.lines
      .filter((l) => l.seq > mark)
      .map((l) => l.text)
      .join('\n');
  }
}

/** One service process: its output and how it ended. */
export class ServiceProcess {
  readonly exited: Promise<Exit>;
  private output = '';
  private readonly spawnedAt = Date.now();
  private signalledAt: number | undefined;

  constructor(
    readonly service: Startable,
    private readonly child: ChildProcess,
    logs: Logs,
    /** Where it serves HTTP. */
    readonly baseUrl: string,
  ) {
    const prefix = `${service.padEnd(12)}[${child.pid}]`;
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (chunk: string) => {
        this.output += chunk;
        logs.add(prefix, chunk);
      });
    }
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        logs.add(prefix, `exited (${signal ?? code})`);
        resolve({ code, signal, ms: Date.now() - (this.signalledAt ?? this.spawnedAt) });
      });
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Everything it printed, stdout and stderr. */
  get printed(): string {
    return this.output;
  }

  /** Sends `signal` and waits for the exit; SIGKILL (and an error) if it has not exited in time. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    if (!this.running) return this.exited;
    this.signalledAt = Date.now();
    this.child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const outcome = await Promise.race([this.exited, timedOut]);
    clearTimeout(timer);
    if (outcome !== 'timeout') return outcome;
    this.child.kill('SIGKILL');
    await this.exited;
    throw new Error(`${this.service} did not exit within ${timeoutMs} ms of ${signal}; killed`);
  }

  /** Last resort when the test process itself exits: synchronous, no waiting. */
  killNow(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

/** Spawns one service with its own `start` script, cwd services/<service>, and `env` on top. */
export function spawnService(service: Startable, env: Record<string, string>, logs = new Logs()): ServiceProcess {
  const dir = join(ROOT, 'services', service);
  const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const [command, ...args] = manifest.scripts.start.trim().split(/\s+/);
  if (!command) throw new Error(`services/${service}/package.json has an empty start script`);
  const child = spawn(command, args, { cwd: dir, env: { ...inheritedEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const proc = new ServiceProcess(service, child, logs, `http://${env.HOST ?? '127.0.0.1'}:${env.PORT ?? ''}`);
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

// Our own environment minus what would point a service somewhere else than the test says
// (a developer's SMTP server or tracing collector, a dev shell's DATABASE_URL) or open routes it
// did not ask for (a dev shell's tokens).
function inheritedEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith('OTEL_') || ['SMTP_URL', 'DATABASE_URL', 'RABBITMQ_URL', 'PORT', 'NODE_OPTIONS', 'ADMIN_TOKEN', 'OPERATOR_READ_TOKEN'].includes(key)) delete env[key];
  }
  return env;
}

// Never leave a service running if the test process dies without its afterAll.
const live = new Set<ServiceProcess>();
process.once('exit', () => {
  for (const proc of live) proc.killNow();
});

export interface SystemResources {
  rabbitmqUrl: string;
  /** The global setup's `brokerAdmin`. */
  brokerAdmin: string;
  databaseUrl: string;
  /** The global setup's per-service broker users and database roles. */
  access: Access;
}

/**
 * The whole system for one test file: a fresh vhost, a fresh database per service, a port per
 * service (kept across restarts, so `baseUrl` stays valid), and the processes.
 */
export class System {
  readonly logs = new Logs();
  private readonly processes = new Map<Process, ServiceProcess>();
  /** Extra copies of a service (competing consumers), each on a port of its own. */
  private readonly replicas: ServiceProcess[] = [];

  private constructor(
    readonly vhost: TestVhost,
    private readonly databases: Record<Process, TestDatabase>,
    private readonly ports: Record<Process, number>,
    private readonly env: Record<string, string>,
    private readonly readyTimeoutMs: number,
  ) {}

  /**
   * Creates the vhost (unless `options.vhost` is given: a broker of the test's own) and databases;
   * starts nothing (see `startAll`). `options.readyTimeoutMs`: how long a start may take.
   */
  static async create(
    resources: SystemResources,
    label: string,
    env: Record<string, string> = {},
    options: { vhost?: TestVhost; readyTimeoutMs?: number } = {},
  ): Promise<System> {
    const vhost = options.vhost ?? (await createTestVhost(resources.rabbitmqUrl, resources.brokerAdmin, resources.access, `e2e-${label}`));
    const databases = await Promise.all(PROCESSES.map((p) => createTestDatabase(resources.databaseUrl, `e2e_${label}_${p}`, resources.access[p])));
    const ports = await Promise.all(PROCESSES.map(() => freePort()));
    PROCESSES.forEach((p, i) => contracts.watch(`http://127.0.0.1:${ports[i]}`, p));
    return new System(
      vhost,
      Object.fromEntries(PROCESSES.map((p, i) => [p, databases[i]])) as Record<Process, TestDatabase>,
      Object.fromEntries(PROCESSES.map((p, i) => [p, ports[i]])) as Record<Process, number>,
      env,
      options.readyTimeoutMs ?? READY_TIMEOUT_MS,
    );
  }

  baseUrl(service: Process): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  databaseUrl(service: Process): string {
    return this.databases[service].url;
  }

  isRunning(service: Process): boolean {
    return this.processes.get(service)?.running ?? false;
  }

  /**
   * Starts `service` and waits until GET /readyz is 200 (broker, database, every subscription).
   * Payment's first start starts the gateway it charges through, if nothing has yet.
   */
  async start(service: Process): Promise<void> {
    if (this.isRunning(service)) throw new Error(`${service} is already running`);
    if (service === 'payment' && !this.processes.has('gateway')) await this.start('gateway');
    const proc = this.spawn(service, this.ports[service]);
    this.processes.set(service, proc);
    await this.waitUntilReady(proc, this.baseUrl(service));
  }

  /**
   * Starts another copy of `service` on the same queues and database (a competing consumer, as
   * `docker compose up --scale` would), waits until it is ready, and returns it.
   */
  async startReplica(service: Service): Promise<ServiceProcess> {
    const proc = this.spawn(service, await freePort());
    contracts.watch(proc.baseUrl, service);
    this.replicas.push(proc);
    await this.waitUntilReady(proc, proc.baseUrl);
    return proc;
  }

  private spawn(service: Process, port: number): ServiceProcess {
    return spawnService(
      service,
      {
        // The gateway has no broker; payment calls it.
        ...(service === 'gateway' ? {} : { RABBITMQ_URL: this.vhost.urlFor(service) }),
        ...(service === 'payment' ? { GATEWAY_URL: this.baseUrl('gateway') } : {}),
        DATABASE_URL: this.databases[service].url,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RETRY_BASE_DELAY_MS: '100',
        OPERATOR_READ_TOKEN,
        ...this.env,
      },
      this.logs,
    );
  }

  /** The gateway first, then the four services together. */
  async startAll(): Promise<void> {
    if (!this.isRunning('gateway')) await this.start('gateway');
    await Promise.all(SERVICES.map((s) => this.start(s)));
  }

  /** Sends `signal` (SIGTERM by default) and waits for the process to exit. */
  async stop(service: Process, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = STOP_TIMEOUT_MS): Promise<Exit> {
    const proc = this.processes.get(service);
    if (!proc) throw new Error(`${service} was never started`);
    return proc.stop(signal, timeoutMs);
  }

  /** kill -9: no shutdown hooks, in-flight work lost to the broker's redelivery. */
  kill(service: Process): Promise<Exit> {
    return this.stop(service, 'SIGKILL');
  }

  async restart(service: Process, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await this.stop(service, signal);
    await this.start(service);
  }

  /** Stops every process (SIGTERM, then SIGKILL), drops the databases, deletes the vhost. */
  async shutdown(): Promise<void> {
    const stops = await Promise.allSettled([...this.processes.values(), ...this.replicas].map((p) => p.stop('SIGTERM', 10_000)));
    const cleanups = await Promise.allSettled([...Object.values(this.databases).map((db) => db.drop()), this.vhost.delete()]);
    const failures = [...stops, ...cleanups].filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failures.length > 0) throw new AggregateError(failures.map((f) => f.reason), 'e2e clean-up failed');
  }

  private async waitUntilReady(proc: ServiceProcess, baseUrl: string): Promise<void> {
    const url = `${baseUrl}/readyz`;
    const deadline = Date.now() + this.readyTimeoutMs;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!proc.running) {
        const { code, signal } = await proc.exited;
        throw new Error(`${proc.service} exited (${signal ?? code}) before it was ready:\n${proc.printed}`);
      }
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
        last = `${response.status} ${await response.text()}`;
        if (response.status === 200) return;
      } catch (error) {
        last = (error as Error).message;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`${proc.service} not ready after ${this.readyTimeoutMs} ms (last /readyz: ${last}):\n${proc.printed}`);
  }
}
