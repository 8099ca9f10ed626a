import { startBeside } from './beside';
import { OPERATOR_READ_TOKEN, type ServiceProcess, type System } from './system';

/** The web front as a real process (its own `start` script), pointed at `system`'s four services and gateway. */
export function startWebFront(system: System, env: Record<string, string> = {}): Promise<{ url: string; proc: ServiceProcess }> {
  return startBeside('web', system, { POLL_INTERVAL_MS: '200', OPERATOR_READ_TOKEN, ...env }, '/healthz');
}
