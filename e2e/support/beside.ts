import { contracts } from './contracts';
import type { Answerer } from './contract-check';
import { freePort, spawnService, type ServiceProcess, type System } from './system';

/**
 * A process that runs beside a System and reads its services (the web front, the observer), as a
 * real process with its own `start` script and `system`'s service URLs; resolves once GET
 * `readyPath` answers 200.
 */
export async function startBeside(name: Extract<Answerer, 'web' | 'observer'>, system: System, env: Record<string, string>, readyPath: string): Promise<{ url: string; proc: ServiceProcess }> {
  const port = await freePort();
  const proc = spawnService(
    name,
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ORDER_URL: system.baseUrl('order'),
      PAYMENT_URL: system.baseUrl('payment'),
      INVENTORY_URL: system.baseUrl('inventory'),
      NOTIFICATION_URL: system.baseUrl('notification'),
      GATEWAY_URL: system.baseUrl('gateway'),
      ...env,
    },
    system.logs,
  );
  const url = `http://127.0.0.1:${port}`;
  contracts.watch(url, name);
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`${name} exited before it was ready:\n${proc.printed}`);
    const ok = await fetch(`${url}${readyPath}`).then((r) => r.ok, () => false);
    if (ok) return { url, proc };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await proc.stop();
  throw new Error(`${name} did not answer ${readyPath} on ${url} within 20 s:\n${proc.printed}`);
}
