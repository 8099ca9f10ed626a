import { startBeside } from './beside';
import { OPERATOR_READ_TOKEN, type ServiceProcess, type System } from './system';

/** The admin token the observer gets in the tests: resolving a violation needs it. */
export const OBSERVER_ADMIN_TOKEN = 'e2e-observer-admin-token-0123';

/**
 * The observer as a real process (its own `start` script), watching `system`'s vhost as its own
 * read-only broker user and reading its services; `env` on top (short bounds for a test).
 * Resolves once its queues are consumed (GET /readyz 200).
 */
export function startObserver(system: System, env: Record<string, string> = {}): Promise<{ url: string; proc: ServiceProcess }> {
  return startBeside(
    'observer',
    system,
    { RABBITMQ_URL: system.vhost.urlFor('observer'), OPERATOR_READ_TOKEN, ADMIN_TOKEN: OBSERVER_ADMIN_TOKEN, OBSERVER_CHECK_INTERVAL_MS: '200', ...env },
    '/readyz',
  );
}
