import { exchangeOf } from '@troupe/contracts';
import { TestBroker } from '@troupe/testing';
import { afterAll, beforeAll, beforeEach, inject } from 'vitest';
import { contracts } from './contracts';
import { EventTap } from './event-tap';
import { SERVICES, System } from './system';

/**
 * One system per test file: created and started in beforeAll, torn down in afterAll whatever
 * happened (processes stopped, databases dropped, vhost deleted). A failing test prints what the
 * services logged while it ran; E2E_LOGS=1 prints all of it. With the contract checks on, every
 * message the services publish to their exchanges is checked against the AsyncAPI document.
 */
export function useSystem(label: string, env: () => Record<string, string> = () => ({})): { system: System; broker: TestBroker } {
  const ctx = {} as { system: System; broker: TestBroker };
  let tap: EventTap | undefined;

  beforeAll(async () => {
    ctx.system = await System.create(
      { rabbitmqUrl: inject('rabbitmqUrl'), brokerAdmin: inject('brokerAdmin'), databaseUrl: inject('databaseUrl'), access: inject('access') },
      label,
      env(),
    );
    await ctx.system.startAll();
    ctx.broker = await TestBroker.connect(ctx.system.vhost.url);
    if (contracts.installed) {
      tap = await EventTap.open(ctx.system.vhost.url, SERVICES.map(exchangeOf), (id) => id !== undefined && ctx.broker.published.has(id));
    }
  });

  afterAll(async () => {
    // E2E_LOGS=1 shows everything the services printed, passing or not.
    if (process.env.E2E_LOGS && ctx.system) console.log(`--- what the services printed (${label}) ---\n${ctx.system.logs.since()}`);
    await tap?.close();
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
