import { contracts } from './contracts';
import { freePort, OPERATOR_READ_TOKEN, spawnService, type ServiceProcess, type System } from './system';

/** The web front as a real process (its own `start` script), pointed at `system`'s four services and gateway. */
export async function startWebFront(system: System, env: Record<string, string> = {}): Promise<{ url: string; proc: ServiceProcess }> {
  const port = await freePort();
  const proc = spawnService(
    'web',
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ORDER_URL: system.baseUrl('order'),
      PAYMENT_URL: system.baseUrl('payment'),
      INVENTORY_URL: system.baseUrl('inventory'),
      NOTIFICATION_URL: system.baseUrl('notification'),
      GATEWAY_URL: system.baseUrl('gateway'),
      POLL_INTERVAL_MS: '200',
      OPERATOR_READ_TOKEN,
      ...env,
    },
    system.logs,
  );
  const url = `http://127.0.0.1:${port}`;
  contracts.watch(url, 'web');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`the web front exited before it was ready:\n${proc.printed}`);
    const ok = await fetch(`${url}/healthz`).then((r) => r.ok, () => false);
    if (ok) return { url, proc };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await proc.stop();
  throw new Error(`the web front did not answer on ${url} within 20 s:\n${proc.printed}`);
}
