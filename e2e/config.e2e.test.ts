import { describe, expect, it } from 'vitest';
import { SERVICES, spawnService } from './support/system';

// Start-up validation, through the real start command: a bad value must stop the service with a
// message naming the variable. Broker and database point nowhere, so a service that wrongly got
// past its configuration could not touch anything either.
describe('configuration', () => {
  it.each(SERVICES)('when %s is started with PORT=nope, then it exits non-zero and says PORT is wrong', async (service) => {
    const proc = spawnService(service, {
      PORT: 'nope',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:1',
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none',
    });
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([proc.exited, new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), 15_000)))]);
    clearTimeout(timer);
    if (!exit) await proc.stop('SIGKILL');

    expect(exit, `${service} still running 15 s later; it printed:\n${proc.printed}`).toBeDefined();
    expect(exit?.code, proc.printed).not.toBe(0);
    expect(exit?.code, proc.printed).not.toBeNull();
    expect(proc.printed).toMatch(/\bPORT\b/);
  });
});
