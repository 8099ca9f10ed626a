import { contracts } from './contracts';
import { freePort, OPERATOR_READ_TOKEN, spawnService, type ServiceProcess, type System } from './system';

/** The admin token the observer gets in the tests: resolving a violation needs it. */
export const OBSERVER_ADMIN_TOKEN = 'e2e-observer-admin-token-0123';

/**
 * The observer as a real process (its own `start` script), watching `system`'s vhost as its own
 * read-only broker user and reading its services; `env` on top (short bounds for a test).
 * Resolves once its queues are consumed (GET /readyz 200).
 */
export async function startObserver(system: System, env: Record<string, string> = {}): Promise<{ url: string; proc: ServiceProcess }> {
  const port = await freePort();
  const proc = spawnService(
    'observer',
    {
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RABBITMQ_URL: system.vhost.urlFor('observer'),
      ORDER_URL: system.baseUrl('order'),
      PAYMENT_URL: system.baseUrl('payment'),
      INVENTORY_URL: system.baseUrl('inventory'),
      NOTIFICATION_URL: system.baseUrl('notification'),
      GATEWAY_URL: system.baseUrl('gateway'),
      OPERATOR_READ_TOKEN,
      ADMIN_TOKEN: OBSERVER_ADMIN_TOKEN,
      OBSERVER_CHECK_INTERVAL_MS: '200',
      ...env,
    },
    system.logs,
  );
  const url = `http://127.0.0.1:${port}`;
  contracts.watch(url, 'observer');
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (!proc.running) throw new Error(`the observer exited before it was ready:\n${proc.printed}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) return { url, proc };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await proc.stop();
  throw new Error(`the observer was not ready on ${url} within 20 s:\n${proc.printed}`);
}
