import { describe, expect, it } from 'vitest';
import { SERVICES, spawnService } from './support/system';

// Start-up validation, through the real start command: a bad value must stop the service with a
// message naming the variable. Broker and database point nowhere, so a service that wrongly got
// past its configuration could not touch anything either.
/** How `proc` ended, or undefined (after killing it) when it was still running 15 s later. */
async function exitOf(proc: ReturnType<typeof spawnService>) {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([proc.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 15_000)))]);
  clearTimeout(timer);
  if (!exit) await proc.stop('SIGKILL');
  return exit;
}

describe('configuration', () => {
  it.each(SERVICES)('when %s is started with PORT=nope, then it exits non-zero and says PORT is wrong', async (service) => {
    const proc = spawnService(service, {
      PORT: 'nope',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    });
    const exit = await exitOf(proc);

    expect(exit, `${service} still running 15 s later; it printed:\n${proc.printed}`).toBeDefined();
    expect(exit?.code, proc.printed).not.toBe(0);
    expect(exit?.code, proc.printed).not.toBeNull();
    expect(proc.printed).toMatch(/\bPORT\b/);
  });

  // Outside development (the images set NODE_ENV=production) there is no fallback to the local
  // servers' stock users: the service stops at once instead of connecting as guest or postgres.
  it.each([...SERVICES, 'gateway' as const])(
    'when %s is started with NODE_ENV=production and no RABBITMQ_URL or DATABASE_URL, then it exits non-zero naming what is missing',
    async (service) => {
      const proc = spawnService(service, { NODE_ENV: 'production', PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'warn' });
      const exit = await exitOf(proc);

      expect(exit, `${service} still running 15 s later; it printed:\n${proc.printed}`).toBeDefined();
      expect(exit?.code, proc.printed).not.toBe(0);
      expect(exit?.code, proc.printed).not.toBeNull();
      expect(proc.printed).toMatch(/DATABASE_URL: not set, and required/);
      if (service !== 'gateway') expect(proc.printed).toMatch(/RABBITMQ_URL: not set, and required/);
    },
  );
});
