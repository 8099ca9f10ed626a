import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * The broker administration that tests, `make dev` and the bench need: vhosts, users and
 * permissions (as a RabbitMQ definitions document), and a look at client connections. Two ways to
 * reach it, the same results: the management plugin's HTTP API (the compose stack, containers), or
 * `rabbitmqctl` on the broker's own machine (a default install has the plugin off).
 */
export interface BrokerAdmin {
  /** How it talks to the broker, for messages: `http://host:15672` or `rabbitmqctl`. */
  readonly via: string;
  /** Creates or updates what the document lists (vhosts, users, permissions), as `import_definitions` does. */
  importDefinitions(definitions: Definitions): Promise<void>;
  deleteVhost(name: string): Promise<void>;
  deleteUser(name: string): Promise<void>;
  /** Client connections to `vhost`: their broker-side id and the name the client gave itself. */
  listConnections(vhost: string): Promise<{ id: string; clientName: string | undefined }[]>;
  /** Force-closes the connections to `vhost` whose client name starts with one of `prefixes`; how many. */
  closeConnections(vhost: string, prefixes: readonly string[], reason: string): Promise<number>;
}

export interface Definitions {
  vhosts?: { name: string }[];
  exchanges?: { name: string; vhost: string; type: string; durable: boolean; auto_delete: boolean; internal: boolean; arguments: Record<string, unknown> }[];
  users?: { name: string; password: string; tags: string }[];
  permissions?: { user: string; vhost: string; configure: string; write: string; read: string }[];
}

const CTL_TIMEOUT_MS = 60_000;

class HttpAdmin implements BrokerAdmin {
  readonly via: string;
  private readonly base: string;
  private readonly authorization: string;

  constructor(managementUrl: string) {
    const url = new URL(managementUrl);
    this.via = `${url.protocol}//${url.host}`;
    this.base = `${url.protocol}//${url.host}/api`;
    this.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  }

  private async call(path: string, method: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: this.authorization, 'content-type': 'application/json', 'x-reason': 'troupe test' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok && response.status !== 404) {
      throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
    }
    const text = await response.text();
    return response.ok && text ? JSON.parse(text) : undefined;
  }

  async importDefinitions(definitions: Definitions): Promise<void> {
    // Definitions carry password hashes; a user given a password goes through the users API.
    const { users = [], ...rest } = definitions;
    for (const user of users) await this.call(`/users/${encodeURIComponent(user.name)}`, 'PUT', { password: user.password, tags: user.tags });
    if (Object.keys(rest).length > 0) await this.call('/definitions', 'POST', rest);
  }

  async deleteVhost(name: string): Promise<void> {
    await this.call(`/vhosts/${encodeURIComponent(name)}`, 'DELETE');
  }

  async deleteUser(name: string): Promise<void> {
    await this.call(`/users/${encodeURIComponent(name)}`, 'DELETE');
  }

  async listConnections(vhost: string) {
    const listed = ((await this.call(`/vhosts/${encodeURIComponent(vhost)}/connections`, 'GET')) ?? []) as {
      name: string;
      client_properties?: { connection_name?: string };
    }[];
    return listed.map((c) => ({ id: c.name, clientName: c.client_properties?.connection_name }));
  }

  async closeConnections(vhost: string, prefixes: readonly string[]): Promise<number> {
    const chosen = (await this.listConnections(vhost)).filter((c) => prefixes.some((p) => c.clientName?.startsWith(p)));
    await Promise.all(chosen.map((c) => this.call(`/connections/${encodeURIComponent(c.id)}`, 'DELETE')));
    return chosen.length;
  }
}

class CtlAdmin implements BrokerAdmin {
  readonly via: string;

  /** `node`: the broker node to administer (`-n`); the local default node when absent. */
  constructor(private readonly node?: string) {
    this.via = node ? `rabbitmqctl -n ${node}` : 'rabbitmqctl';
  }

  private async ctl(...args: string[]): Promise<string> {
    try {
      const { stdout } = await run('rabbitmqctl', ['-q', ...(this.node ? ['-n', this.node] : []), ...args], { timeout: CTL_TIMEOUT_MS, maxBuffer: 16 * 1024 * 1024 });
      return stdout;
    } catch (error) {
      const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
      throw Object.assign(new Error(`rabbitmqctl ${args[0]}: ${`${stderr}${stdout}`.trim() || String(error)}`), { output: `${stderr}${stdout}` });
    }
  }

  /** Runs `args`, treating an error whose output matches `ignorable` as done. */
  private async ctlUnless(ignorable: RegExp, ...args: string[]): Promise<void> {
    await this.ctl(...args).catch((error: { output?: string }) => {
      if (!ignorable.test(error.output ?? '')) throw error;
    });
  }

  async importDefinitions(definitions: Definitions): Promise<void> {
    // Users are created with the password hash the broker computes, so they go through add_user;
    // vhosts and permissions go in as one document (one VM start instead of one per item).
    await Promise.all(
      (definitions.users ?? []).map(async (user) => {
        const added = await this.ctl('add_user', user.name, user.password).then(
          () => true,
          (error: { output?: string }) => {
            if (!/already exists/.test(error.output ?? '')) throw error;
            return false;
          },
        );
        if (!added) await this.ctl('change_password', user.name, user.password);
        const tags = user.tags.split(',').filter(Boolean);
        if (tags.length > 0 || !added) await this.ctl('set_user_tags', user.name, ...tags);
      }),
    );
    // rabbitmqctl reads the file as the broker's user, not ours (and rabbitmqctl 3.10 reads no
    // stdin): a world-readable file, which is fine since it holds no password.
    const dir = mkdtempSync(join(tmpdir(), 'troupe-definitions-'));
    try {
      chmodSync(dir, 0o755);
      const file = join(dir, 'definitions.json');
      const { users: _users, ...rest } = definitions;
      if (Object.keys(rest).length === 0) return;
      writeFileSync(file, JSON.stringify(rest), { mode: 0o644 });
      await this.ctl('import_definitions', file);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  async deleteVhost(name: string): Promise<void> {
    await this.ctlUnless(/does not exist/, 'delete_vhost', name);
  }

  async deleteUser(name: string): Promise<void> {
    await this.ctlUnless(/does not exist/, 'delete_user', name);
  }

  async listConnections(vhost: string) {
    const out = await this.ctl('list_connections', '-p', vhost, 'pid', 'client_properties', '--formatter', 'json');
    const rows = JSON.parse(out || '[]') as { pid: string; client_properties: unknown }[];
    return rows.map((row) => ({ id: row.pid, clientName: connectionName(row.client_properties) }));
  }

  /**
   * One `eval` that finds and closes the connections: the pids `list_connections` prints are in the
   * CLI's own numbering, which `close_connection` in another CLI run cannot read back.
   */
  async closeConnections(vhost: string, prefixes: readonly string[], reason: string): Promise<number> {
    const binary = (text: string) => `<<${JSON.stringify(text)}/utf8>>`;
    const expression = [
      `VHost = ${binary(vhost)}, Prefixes = [${prefixes.map(binary).join(', ')}],`,
      'Chosen = [P || P <- rabbit_networking:connections(),',
      '  [{vhost, V}, {client_properties, Props}] <- [rabbit_networking:connection_info(P, [vhost, client_properties])],',
      '  V =:= VHost, {value, {_, longstr, N}} <- [lists:keysearch(<<"connection_name">>, 1, Props)],',
      '  lists:any(fun(Pre) -> binary:longest_common_prefix([N, Pre]) =:= byte_size(Pre) end, Prefixes)],',
      `[rabbit_networking:close_connection(P, ${JSON.stringify(reason)}) || P <- Chosen], length(Chosen).`,
    ].join(' ');
    return Number((await this.ctl('eval', expression)).trim());
  }
}

/** `rabbitmqctl … --formatter json` renders client properties as [name, type, value] triples. */
function connectionName(properties: unknown): string | undefined {
  if (!Array.isArray(properties)) return undefined;
  const entry = properties.find((p) => Array.isArray(p) && p[0] === 'connection_name') as unknown[] | undefined;
  return typeof entry?.[2] === 'string' ? entry[2] : undefined;
}

const isLocal = (host: string) => ['localhost', '127.0.0.1', '::1', '[::1]'].includes(host);

async function managementAnswers(managementUrl: string): Promise<boolean> {
  const url = new URL(managementUrl);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  try {
    const response = await fetch(`${url.protocol}//${url.host}/api/whoami`, { headers: { authorization }, signal: AbortSignal.timeout(3000) });
    return response.ok;
  } catch {
    return false;
  }
}

/** Whether the local `rabbitmqctl` controls the broker at `rabbitmqUrl`. */
export function rabbitmqctlControls(rabbitmqUrl: string): boolean {
  if (!isLocal(new URL(rabbitmqUrl.split(',')[0]!).hostname)) return false;
  return spawnSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

/** The management URL the broker's own credentials would use (`http://user:pass@host:15672`). */
export function defaultManagementUrl(rabbitmqUrl: string): string {
  const amqp = new URL(rabbitmqUrl);
  const user = encodeURIComponent(decodeURIComponent(amqp.username || 'guest'));
  const pass = encodeURIComponent(decodeURIComponent(amqp.password || 'guest'));
  return `http://${user}:${pass}@${amqp.hostname}:15672`;
}

/**
 * Finds a way to administer the broker: the management API when it answers, else `rabbitmqctl`
 * when it controls this broker. Throws one line that says what to do when neither is there.
 * The result is a string (`http://…` or `rabbitmqctl`) that `brokerAdmin()` turns back into an admin.
 */
export async function discoverBrokerAdmin(rabbitmqUrl: string, managementUrl = defaultManagementUrl(rabbitmqUrl)): Promise<string> {
  if (await managementAnswers(managementUrl)) return managementUrl;
  if (rabbitmqctlControls(rabbitmqUrl)) return 'rabbitmqctl';
  const host = new URL(managementUrl).host;
  throw new Error(
    `cannot administer the RabbitMQ broker (to create a vhost per test): its management API at ${host} does not answer and ` +
      "rabbitmqctl does not control it; run the tests on the broker's machine, enable the API (`rabbitmq-plugins enable rabbitmq_management`), " +
      'or point RABBITMQ_MANAGEMENT_URL at it',
  );
}

/** `spec`: a management API URL, `rabbitmqctl` (the local node) or `rabbitmqctl:<node>`. */
export function brokerAdmin(spec: string): BrokerAdmin {
  if (spec === 'rabbitmqctl') return new CtlAdmin();
  if (spec.startsWith('rabbitmqctl:')) return new CtlAdmin(spec.slice('rabbitmqctl:'.length));
  return new HttpAdmin(spec);
}
