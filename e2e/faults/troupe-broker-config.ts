import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The advanced.config troupe ships for its brokers (compose and the Kubernetes manifests carry the same setting). */
export const ADVANCED_CONFIG = join(__dirname, '..', '..', 'infra', 'rabbitmq', 'advanced.config');

/** Its `dead_letter_worker_publisher_confirm_timeout`, in milliseconds. */
export function deadLetterConfirmTimeoutMs(): number {
  const settings = readFileSync(ADVANCED_CONFIG, 'utf8').replace(/%.*$/gm, '');
  const match = /\{\s*dead_letter_worker_publisher_confirm_timeout\s*,\s*(\d+)\s*\}/.exec(settings);
  if (!match) throw new Error(`${ADVANCED_CONFIG} sets no dead_letter_worker_publisher_confirm_timeout`);
  return Number(match[1]);
}
