import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '@troupe/testing';
import { freePort } from '../support/system';
import { RABBITMQ_SERVER as SERVER } from './rabbitmq-server';
import { ADVANCED_CONFIG } from './troupe-broker-config';

const run = promisify(execFile);
// The Erlang cookie every node of the cluster (and rabbitmqctl) must share is the rabbitmq user's.
const RABBITMQ_HOME = '/var/lib/rabbitmq';

/** One extra broker node: its own name, ports and directories, beside any broker already running. */
export interface ClusterNode {
  name: string;
  amqpPort: number;
  distPort: number;
  dir: string;
}

function rabbitmqUser(): { uid: number; gid: number } | undefined {
  const found = spawnSync('id', ['-u', 'rabbitmq'], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', 'rabbitmq'], { encoding: 'utf8' });
  if (found.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(found.stdout.trim()), gid: Number(group.stdout.trim()) };
}

/**
 * Whether three RabbitMQ nodes can be started here: Debian's rabbitmq-server is installed and we
 * are root (to run it as the rabbitmq user, who owns the cookie) or that user.
 */
export function canRunRabbitCluster(): boolean {
  const user = rabbitmqUser();
  return existsSync(SERVER) && user !== undefined && (userInfo().uid === 0 || userInfo().uid === user.uid);
}

// Nodes still running if the test process dies without its afterAll.
const live = new Set<RabbitCluster>();
process.once('exit', () => {
  for (const cluster of live) cluster.destroyNow();
});

/**
 * A RabbitMQ cluster of `size` nodes on this host, in a temporary directory, for fault tests:
 * nodes can be SIGKILLed (the Erlang VM, as a crash or an OOM kill would) and started again.
 * Never touches another broker on the host: its own node names, ports, data, logs and config.
 */
export class RabbitCluster {
  private readonly servers = new Map<string, ChildProcess>();

  private constructor(
    readonly nodes: ClusterNode[],
    private readonly root: string,
    private readonly user: { uid: number; gid: number },
  ) {}

  /** Starts the nodes, joins the others to the first, and waits until all run as one cluster. */
  static async start(size = 3): Promise<RabbitCluster> {
    const user = rabbitmqUser();
    if (!user) throw new Error('no rabbitmq user on this host');
    const root = mkdtempSync(join(tmpdir(), 'troupe-rabbit-cluster-'));
    chownSync(root, user.uid, user.gid);
    const tag = root.slice(-6).toLowerCase().replace(/[^a-z0-9]/g, 'x');
    const nodes: ClusterNode[] = [];
    for (let i = 1; i <= size; i++) {
      nodes.push({ name: `troupe-c${i}-${tag}@localhost`, amqpPort: await freePort(), distPort: await freePort(), dir: join(root, `c${i}`) });
    }
    const cluster = new RabbitCluster(nodes, root, user);
    live.add(cluster);
    try {
      // The first node alone, then the others, which find it through classic config peer
      // discovery and join it as they boot (started together, each could form a cluster of its own).
      const [first, ...others] = nodes as [ClusterNode, ...ClusterNode[]];
      cluster.prepare(first, []);
      for (const node of others) cluster.prepare(node, [first]);
      await cluster.startNode(first);
      await Promise.all(others.map((node) => cluster.startNode(node)));
      await cluster.awaitRunning(nodes);
    } catch (error) {
      await cluster.destroy();
      throw error;
    }
    return cluster;
  }

  /** amqp:// URLs of every node, comma-separated, as services take them in RABBITMQ_URL. */
  get url(): string {
    return this.nodes.map((node) => urlOf(node)).join(',');
  }

  urlOf(node: ClusterNode): string {
    return urlOf(node);
  }

  nodeNamed(name: string): ClusterNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new Error(`no node ${name} in this cluster`);
    return node;
  }

  /** Queues with their leader and members, as a running node sees them. */
  async queues(via: ClusterNode): Promise<{ name: string; leader: string; members: string[]; online: string[] }[]> {
    const { stdout } = await ctl(via, 'list_queues', 'name', 'leader', 'members', 'online', '--formatter', 'json');
    return JSON.parse(stdout) as { name: string; leader: string; members: string[]; online: string[] }[];
  }

  /** SIGKILL the node's Erlang VM: no clean shutdown, its connections die with it. */
  async kill(node: ClusterNode): Promise<void> {
    const pid = Number(readFileSync(join(node.dir, 'pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    const server = this.servers.get(node.name);
    if (server && server.exitCode === null && server.signalCode === null) await new Promise((resolve) => server.once('exit', resolve));
  }

  /** Starts a killed node again on its old data: it rejoins the cluster by itself. */
  async restart(node: ClusterNode): Promise<void> {
    await this.startNode(node);
    await this.awaitRunning(this.nodes, node);
  }

  /** Every node running and clustered, as `via` sees it. */
  async awaitRunning(nodes: ClusterNode[], via = nodes[0] as ClusterNode): Promise<void> {
    const names = nodes.map((n) => n.name).sort();
    await eventually(
      async () => {
        const { stdout } = await ctl(via, 'cluster_status', '--formatter', 'json');
        const running = ((JSON.parse(stdout) as { running_nodes: string[] }).running_nodes ?? []).sort();
        return JSON.stringify(running) === JSON.stringify(names) || undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: `nodes ${names.join(', ')} running as one cluster` },
    );
  }

  /** Stops every node (SIGKILL: the data is thrown away) and removes the directory. */
  async destroy(): Promise<void> {
    const exits = [...this.servers.values()]
      .filter((s) => s.exitCode === null && s.signalCode === null)
      .map((s) => new Promise((resolve) => s.once('exit', resolve)));
    this.destroyNow();
    await Promise.race([Promise.all(exits), new Promise((resolve) => setTimeout(resolve, 10_000))]);
  }

  /** Synchronous: for process exit, when nothing can be awaited. */
  destroyNow(): void {
    for (const node of this.nodes) {
      try {
        process.kill(Number(readFileSync(join(node.dir, 'pid'), 'utf8').trim()), 'SIGKILL');
      } catch {
        // not running (or never started)
      }
    }
    for (const server of this.servers.values()) if (server.exitCode === null && server.signalCode === null) server.kill('SIGKILL');
    rmSync(this.root, { recursive: true, force: true });
    live.delete(this);
  }

  private prepare(node: ClusterNode, peers: ClusterNode[]): void {
    mkdirSync(node.dir);
    writeFileSync(join(node.dir, 'enabled_plugins'), '[].\n');
    const discovery = peers.length === 0 ? [] : ['cluster_formation.peer_discovery_backend = classic_config'];
    const conf = [
      `listeners.tcp.1 = 127.0.0.1:${node.amqpPort}`,
      ...discovery,
      ...peers.map((peer, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${peer.name}`),
    ];
    writeFileSync(join(node.dir, 'rabbitmq.conf'), `${conf.join('\n')}\n`);
    // An empty env file: the host's rabbitmq-env.conf names the host's own node.
    writeFileSync(join(node.dir, 'rabbitmq-env.conf'), '');
    copyFileSync(ADVANCED_CONFIG, join(node.dir, 'advanced.config'));
    for (const path of ['', 'enabled_plugins', 'rabbitmq.conf', 'rabbitmq-env.conf', 'advanced.config']) chownSync(join(node.dir, path), this.user.uid, this.user.gid);
  }

  private async startNode(node: ClusterNode): Promise<void> {
    rmSync(join(node.dir, 'pid'), { force: true });
    const env = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: RABBITMQ_HOME,
      RABBITMQ_CONF_ENV_FILE: join(node.dir, 'rabbitmq-env.conf'),
      RABBITMQ_CONFIG_FILE: join(node.dir, 'rabbitmq.conf'),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(node.dir, 'advanced.config'),
      RABBITMQ_NODENAME: node.name,
      RABBITMQ_NODE_PORT: String(node.amqpPort),
      RABBITMQ_DIST_PORT: String(node.distPort),
      RABBITMQ_MNESIA_BASE: join(node.dir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(node.dir, 'log'),
      RABBITMQ_PID_FILE: join(node.dir, 'pid'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(node.dir, 'enabled_plugins'),
      // Loopback only; schedulers that sleep rather than spin when idle (three VMs share few cores).
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1} +sbwt none +sbwtdcpu none +sbwtdio none',
    };
    const asRabbitmq = userInfo().uid === 0;
    const server = spawn(asRabbitmq ? 'runuser' : SERVER, asRabbitmq ? ['-u', 'rabbitmq', '--', SERVER] : [], {
      cwd: RABBITMQ_HOME,
      env,
      stdio: 'ignore',
    });
    this.servers.set(node.name, server);
    const started = Date.now();
    await eventually(
      async () => {
        if (server.exitCode !== null || server.signalCode !== null) throw new Error(`${node.name} exited at start-up (see ${node.dir}/log)`);
        return existsSync(join(node.dir, 'pid')) || undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, what: `${node.name} writing its pid file` },
    );
    await ctl(node, 'await_startup', '--timeout', '60');
    if (process.env.E2E_LOGS) console.log(`${node.name} started in ${Date.now() - started} ms`);
  }
}

function urlOf(node: ClusterNode): string {
  return `amqp://guest:guest@127.0.0.1:${node.amqpPort}`;
}

/** rabbitmqctl against one node (Debian's wrapper runs it as the rabbitmq user when we are root). */
export function ctl(node: ClusterNode, ...args: string[]): Promise<{ stdout: string }> {
  return run('rabbitmqctl', ['-q', '-n', node.name, ...args], { timeout: 90_000 });
}
