import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { brokerAdmin, eventually, rabbitmqctlControls } from '@troupe/testing';
import { deadLetterConfirmTimeoutMs } from './troupe-broker-config';

const run = promisify(execFile);

/**
 * Force-closes the connection of each of `services` to `vhost` (they name their connections
 * `<service>@<pid>`), as a broker restart or a network cut would. Waits until the broker lists one
 * for every service first (the management API's view lags a few seconds behind reconnects).
 */
export async function closeServiceConnections(admin: string, vhost: string, services: readonly string[]): Promise<number> {
  const broker = brokerAdmin(admin);
  const ofService = (name: string | undefined, s: string) => name?.startsWith(`${s}@`) ?? false;
  const connections = await eventually(
    async () => {
      const listed = (await broker.listConnections(vhost)).filter((c) => services.some((s) => ofService(c.clientName, s)));
      return services.every((s) => listed.some((c) => ofService(c.clientName, s))) ? listed : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 250, what: 'every service connected (as the broker lists them)' },
  );
  const closed = await broker.closeConnections(vhost, services.map((s) => `${s}@`), 'fault injection');
  if (closed === 0) throw new Error(`closed none of the ${connections.length} service connections listed`);
  return closed;
}

/**
 * Whether this test may stop and start the broker: only a broker on the local host that
 * `rabbitmqctl` controls (CI and `make dev` machines; not a container started by testcontainers).
 */
export const brokerIsLocallyControllable = rabbitmqctlControls;

export const stopBroker = () => run('rabbitmqctl', ['-q', 'stop_app'], { timeout: 60_000 });
export const startBroker = () => run('rabbitmqctl', ['-q', 'start_app'], { timeout: 120_000 });
/** Waits until the broker accepts AMQP work again (start_app returns before every listener is up). */
export const awaitBroker = () => run('rabbitmqctl', ['-q', 'await_startup'], { timeout: 120_000 });

/** What an Erlang expression evaluates to on the local broker (`rabbitmqctl eval`), trimmed. */
const evaluate = async (expression: string): Promise<string> => (await run('rabbitmqctl', ['-q', 'eval', expression], { timeout: 60_000 })).stdout.trim();

const DEAD_LETTER_CONFIRM_TIMEOUT = 'dead_letter_worker_publisher_confirm_timeout';

/**
 * Gives the local broker troupe's dead-letter confirm timeout (infra/rabbitmq/advanced.config) until
 * `restore` puts the broker's own value back. A broker of troupe's runs with it; a default install
 * waits 180 s before it offers again a retry that its queue refused while the broker was stopping or
 * starting. Each queue's dead-letter worker reads the value when it starts, and the value outlives
 * `stop_app`: set it before stopping the broker. Workers started meanwhile keep it until they restart.
 */
export async function adoptTroupeDeadLetterTimeout(): Promise<{ was: number; now: number; restore: () => Promise<void> }> {
  const current = await evaluate(`application:get_env(rabbit, ${DEAD_LETTER_CONFIRM_TIMEOUT}).`);
  // The broker's default is in its application file, and its workers require a value: never unset it.
  const was = Number(/^\{ok,(\d+)\}$/.exec(current)?.[1] ?? NaN);
  if (Number.isNaN(was)) throw new Error(`the broker's ${DEAD_LETTER_CONFIRM_TIMEOUT} reads ${JSON.stringify(current)}: not changing what could not be put back`);
  const now = deadLetterConfirmTimeoutMs();
  const set = (ms: number) => evaluate(`application:set_env(rabbit, ${DEAD_LETTER_CONFIRM_TIMEOUT}, ${ms}).`).then(() => undefined);
  if (was !== now) await set(now);
  return { was, now, restore: () => (was === now ? Promise.resolve() : set(was)) };
}

/** The watermark in force before `raiseMemoryAlarm`, as `set_vm_memory_high_watermark` takes it. */
let watermark: string[] | undefined;

/**
 * Raises the broker's memory alarm (high watermark 0): RabbitMQ blocks every connection that
 * publishes and stops reading from it, so nothing sent is confirmed, while the connections stay
 * open and heartbeats keep flowing. It blocks the whole broker: only on a broker of the test's own.
 */
export async function raiseMemoryAlarm(): Promise<void> {
  const value = await evaluate('vm_memory_monitor:get_vm_memory_high_watermark().');
  const absolute = /^\{absolute,\s*(\d+)\}$/.exec(value);
  if (absolute) watermark = ['absolute', absolute[1]!];
  else if (/^\d+(\.\d+)?$/.test(value)) watermark = [value];
  else throw new Error(`the broker's memory high watermark reads ${JSON.stringify(value)}: not raising an alarm that could not be put back`);
  await run('rabbitmqctl', ['-q', 'set_vm_memory_high_watermark', '0'], { timeout: 60_000 });
}

/** Puts the watermark back as it was before `raiseMemoryAlarm`: the alarm clears. Safe to call twice. */
export async function clearMemoryAlarm(): Promise<void> {
  if (!watermark) return;
  await run('rabbitmqctl', ['-q', 'set_vm_memory_high_watermark', ...watermark], { timeout: 60_000 });
  watermark = undefined;
}
