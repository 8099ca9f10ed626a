import { execFile } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../support/system';
import { RABBITMQ_SERVER as SERVER } from './rabbitmq-server';
import { ADVANCED_CONFIG } from './troupe-broker-config';

const run = promisify(execFile);

/** Whether a local RabbitMQ install can start a node of our own (it runs as the `rabbitmq` user). */
export const canRunOwnRabbitmq = (): boolean => existsSync(SERVER) && process.getuid?.() === 0;

/**
 * A standalone RabbitMQ node of the test's own (its own node name, ports and directories), so a
 * test can stop and start a broker without touching anyone else's. It runs troupe's
 * advanced.config, as every broker troupe ships a configuration for. Runs as the `rabbitmq` user,
 * which owns the Erlang cookie that `rabbitmqctl` needs.
 */
export class OwnRabbitmq {
  private constructor(
    private readonly dir: string,
    readonly node: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${this.port}`;
  }

  /** `conf`: rabbitmq.conf lines beside its listener (troupe's `max_message_size`, say). */
  static async create(conf: readonly string[] = []): Promise<OwnRabbitmq> {
    const dir = mkdtempSync(join(tmpdir(), 'troupe-rmq-'));
    const [port, distPort] = [await freePort(), await freePort()];
    const node = `troupe${port}@localhost`;
    writeFileSync(join(dir, 'rabbitmq.conf'), [`listeners.tcp.local = 127.0.0.1:${port}`, ...conf, ''].join('\n'));
    writeFileSync(join(dir, 'enabled_plugins'), '[].\n');
    copyFileSync(ADVANCED_CONFIG, join(dir, 'advanced.config'));
    const { stdout } = await run('id', ['-u', 'rabbitmq']);
    const { stdout: gid } = await run('id', ['-g', 'rabbitmq']);
    for (const path of [dir, join(dir, 'rabbitmq.conf'), join(dir, 'enabled_plugins'), join(dir, 'advanced.config')]) chownSync(path, Number(stdout), Number(gid));
    const env = [
      `RABBITMQ_NODENAME=${node}`,
      `RABBITMQ_CONFIG_FILE=${join(dir, 'rabbitmq.conf')}`,
      `RABBITMQ_ADVANCED_CONFIG_FILE=${join(dir, 'advanced.config')}`,
      `RABBITMQ_NODE_PORT=${port}`,
      `RABBITMQ_DIST_PORT=${distPort}`,
      `RABBITMQ_MNESIA_BASE=${join(dir, 'mnesia')}`,
      `RABBITMQ_LOG_BASE=${join(dir, 'log')}`,
      `RABBITMQ_PID_FILE=${join(dir, 'pid')}`,
      `RABBITMQ_ENABLED_PLUGINS_FILE=${join(dir, 'enabled_plugins')}`,
      'HOME=/var/lib/rabbitmq',
    ].join(' ');
    await run('su', ['rabbitmq', '-s', '/bin/sh', '-c', `${env} nohup ${SERVER} > ${join(dir, 'out.log')} 2>&1 &`]);
    const broker = new OwnRabbitmq(dir, node, port);
    try {
      // Waits for the pid file, then for the node to boot.
      await broker.ctl(`wait ${join(dir, 'pid')} --timeout 90`);
      await broker.ctl('await_startup');
    } catch (error) {
      await broker.destroy();
      throw error;
    }
    return broker;
  }

  /** `rabbitmqctl stop_app`: every client connection is closed (320), new ones are refused. */
  stopApp = () => this.ctl('stop_app');
  startApp = async () => {
    await this.ctl('start_app');
    await this.ctl('await_startup');
  };

  /** `rabbitmqctl eval`: what an Erlang expression evaluates to on the node. */
  async eval(expression: string): Promise<string> {
    const { stdout } = await run('rabbitmqctl', ['-q', '-n', this.node, 'eval', expression], { timeout: 60_000 });
    return stdout.trim();
  }

  /** Stops the node (by the pid in its pid file), waits for it to exit, and deletes its files. */
  async destroy(): Promise<void> {
    const pidFile = join(this.dir, 'pid');
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : undefined;
    await this.ctl('stop').catch(() => {
      if (pid) process.kill(pid, 'SIGKILL');
    });
    // Until the node's process is gone it can still write into its directory.
    for (const deadline = Date.now() + 30_000; pid && isAlive(pid) && Date.now() < deadline; ) await new Promise((resolve) => setTimeout(resolve, 100));
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
  }

  private async ctl(command: string): Promise<void> {
    // Debian's rabbitmqctl runs itself as the rabbitmq user (the cookie's owner) when called by root.
    await run('rabbitmqctl', ['-q', '-n', this.node, ...command.split(' ')], { timeout: 120_000 });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
