import { TestBroker } from '@troupe/testing';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { System } from './system';

/**
 * One system per test file: created and started in beforeAll, torn down in afterAll whatever
 * happened (processes stopped, databases dropped, vhost deleted). A failing test prints what the
 * services logged while it ran; E2E_LOGS=1 prints all of it.
 */
export function useSystem(label: string, env: () => Record<string, string> = () => ({})): { system: System; broker: TestBroker } {
  const ctx = {} as { system: System; broker: TestBroker };

  beforeAll(async () => {
    ctx.system = await System.create(
      { rabbitmqUrl: inject('rabbitmqUrl'), brokerAdmin: inject('brokerAdmin'), databaseUrl: inject('databaseUrl'), access: inject('access') },
      label,
      env(),
    );
    await ctx.system.startAll();
    ctx.broker = await TestBroker.connect(ctx.system.vhost.url);
  });

  afterAll(async () => {
    // E2E_LOGS=1 shows everything the services printed, passing or not.
    if (process.env.E2E_LOGS && ctx.system) console.log(`--- what the services printed (${label}) ---\n${ctx.system.logs.since()}`);
    await ctx.broker?.close();
    await ctx.system?.shutdown();
  });

  beforeEach(({ onTestFailed }) => {
    const mark = ctx.system.logs.mark();
    onTestFailed(() => {
      console.error(`--- what the services printed during this test ---\n${ctx.system.logs.since(mark) || '(nothing)'}`);
    });
  });

  return ctx;
}
