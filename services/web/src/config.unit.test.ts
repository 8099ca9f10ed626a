import { ConfigError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

describe('web front configuration', () => {
  it('when nothing is set, then it listens on 127.0.0.1:8080 and finds the services on their usual ports, with no admin', () => {
    expect(loadConfig({})).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      ORDER_URL: 'http://127.0.0.1:3000',
      PAYMENT_URL: 'http://127.0.0.1:3001',
      INVENTORY_URL: 'http://127.0.0.1:3002',
      NOTIFICATION_URL: 'http://127.0.0.1:3003',
      JAEGER_UI_URL: 'http://localhost:16686',
    });
    expect(loadConfig({}).ADMIN_TOKEN).toBeUndefined();
    expect(loadConfig({}).MAILPIT_URL).toBeUndefined();
  });

  it('when URLs end with a slash, then it is dropped; an empty JAEGER_UI_URL switches trace links off', () => {
    const config = loadConfig({ ORDER_URL: 'http://order:3000/', JAEGER_UI_URL: '', MAILPIT_URL: 'http://localhost:8025/' });
    expect([config.ORDER_URL, config.JAEGER_UI_URL, config.MAILPIT_URL]).toEqual(['http://order:3000', undefined, 'http://localhost:8025']);
  });

  it.each([
    [{ ORDER_URL: 'order:3000' }, 'ORDER_URL'],
    [{ MAILPIT_URL: 'ftp://mail' }, 'MAILPIT_URL'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ POLL_INTERVAL_MS: '10' }, 'POLL_INTERVAL_MS'],
    [{ PORT: '70000' }, 'PORT'],
    [{ JAEGER_UI_URL: 'jaeger' }, 'JAEGER_UI_URL'],
  ])('when %j, then start-up stops naming %s', (env, variable) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(new RegExp(`^invalid configuration:\\n  ${variable}: `));
  });
});
