import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

const env = { RABBITMQ_URL: 'amqp://observer:secret@localhost:5672' };

describe('the observer configuration', () => {
  it('when only the broker is given, then every bound has its default', () => {
    const config = loadConfig(env);
    expect(config).toMatchObject({ PORT: 3005, OBSERVER_WINDOW_MS: 1_800_000, OBSERVER_SETTLE_WITHIN_MS: 60_000 });
    // No file: troupe's own document, generated in-process (the one docs/contracts/ publishes).
    expect(config.ASYNCAPI_PATH).toBeUndefined();
  });

  it('when a variable is out of range or not a number, then start-up stops naming it', () => {
    expect(() => loadConfig({ ...env, OBSERVER_WINDOW_MS: '5' })).toThrow(/OBSERVER_WINDOW_MS: /);
    expect(() => loadConfig({ ...env, OBSERVER_SETTLE_WITHIN_MS: 'soon' })).toThrow(/OBSERVER_SETTLE_WITHIN_MS: /);
    expect(() => loadConfig({ ...env, OPERATOR_READ_TOKEN: 'short' })).toThrow(/OPERATOR_READ_TOKEN: /);
    expect(() => loadConfig({ ...env, ORDER_URL: 'order:3000' })).toThrow(/ORDER_URL: must be an http\(s\) URL/);
  });

  it('when the broker is not given outside development, then start-up stops naming it', () => {
    expect(() => loadConfig({})).toThrow(/RABBITMQ_URL: not set, and required/);
    expect(loadConfig({ NODE_ENV: 'development' }).RABBITMQ_URL).toBe('amqp://guest:guest@localhost:5672');
  });

  it('when the window is shorter than a rule waits before judging an order, then start-up stops naming the variables', () => {
    expect(() => loadConfig({ ...env, OBSERVER_WINDOW_MS: '60000' })).toThrow(/OBSERVER_WINDOW_MS: must be longer than OBSERVER_SETTLE_WITHIN_MS \+ OBSERVER_CONSISTENCY_GRACE_MS \+ OBSERVER_CHECK_INTERVAL_MS \(66000 ms\)/);
    expect(loadConfig({ ...env, OBSERVER_WINDOW_MS: '60000', OBSERVER_SETTLE_WITHIN_MS: '10000' }).OBSERVER_WINDOW_MS).toBe(60_000);
  });
});
