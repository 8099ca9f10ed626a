import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { eventually } from '@troupe/testing';

const run = promisify(execFile);

function managementAuth(managementUrl: string) {
  const url = new URL(managementUrl);
  return {
    base: `${url.protocol}//${url.host}/api`,
    headers: { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` },
  };
}

interface Connection {
  name: string;
  client_properties?: { connection_name?: string };
}

/**
 * Force-closes the connection of each of `services` to `vhost` (they name their connections
 * `<service>@<pid>`), as a broker restart or a network cut would. Waits until the management API
 * lists one for every service first: its view lags a few seconds behind reconnects.
 */
export async function closeServiceConnections(managementUrl: string, vhost: string, services: readonly string[]): Promise<number> {
  const { base, headers } = managementAuth(managementUrl);
  const ofService = (c: Connection) => services.some((s) => c.client_properties?.connection_name?.startsWith(`${s}@`));
  const connections = await eventually(
    async () => {
      const response = await fetch(`${base}/vhosts/${encodeURIComponent(vhost)}/connections`, { headers });
      if (!response.ok) throw new Error(`listing connections: ${response.status}`);
      const listed = ((await response.json()) as Connection[]).filter(ofService);
      return services.every((s) => listed.some((c) => c.client_properties?.connection_name?.startsWith(`${s}@`))) ? listed : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'every service connected (as the management API sees it)' },
  );
  await Promise.all(
    connections.map((c) =>
      fetch(`${base}/connections/${encodeURIComponent(c.name)}`, { method: 'DELETE', headers: { ...headers, 'x-reason': 'fault injection' } }),
    ),
  );
  return connections.length;
}

/**
 * Whether this test may stop and start the broker: only a broker on this machine that
 * `rabbitmqctl` controls (CI and `make dev` machines; not a container started by testcontainers).
 */
export function brokerIsLocallyControllable(rabbitmqUrl: string): boolean {
  const host = new URL(rabbitmqUrl).hostname;
  if (!['localhost', '127.0.0.1', '::1'].includes(host)) return false;
  return spawnSync('rabbitmqctl', ['-q', 'status'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
}

export const stopBroker = () => run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 60_000 });
export const startBroker = () => run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
/** Waits until the broker accepts AMQP work again (start_app returns before every listener is up). */
export const awaitBroker = () => run('rabbitmqctl', ['-q', 'await_startup'], { timeout: 120_000 });
