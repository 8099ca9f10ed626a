import { execFile, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

function managementAuth(managementUrl: string) {
  const url = new URL(managementUrl);
  return {
    base: `${url.protocol}//${url.host}/api`,
    headers: { authorization: `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}` },
  };
}

/** Force-closes every client connection to `vhost`, as a broker restart or a network cut would. */
export async function closeAllConnections(managementUrl: string, vhost: string): Promise<number> {
  const { base, headers } = managementAuth(managementUrl);
  const response = await fetch(`${base}/vhosts/${encodeURIComponent(vhost)}/connections`, { headers });
  if (!response.ok) throw new Error(`listing connections: ${response.status}`);
  const connections = (await response.json()) as { name: string }[];
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
