import { ConfigError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

const READ = { OPERATOR_READ_TOKEN: 'a-read-token-of-24-chars' };

describe('web front configuration', () => {
  it('when only the read token is set, then it listens on 127.0.0.1:8080 and finds the services on their usual ports, with no admin', () => {
    expect(loadConfig(READ)).toMatchObject({
      PORT: 8080,
      HOST: '127.0.0.1',
      ORDER_URL: 'http://127.0.0.1:3000',
      PAYMENT_URL: 'http://127.0.0.1:3001',
      INVENTORY_URL: 'http://127.0.0.1:3002',
      NOTIFICATION_URL: 'http://127.0.0.1:3003',
      OBSERVER_URL: 'http://127.0.0.1:3005',
      JAEGER_UI_URL: 'http://localhost:16686',
      LIVE_STREAM_MAX_CLIENTS: 100,
      LIVE_STREAM_HEARTBEAT_MS: 15_000,
    });
    expect(loadConfig(READ).ADMIN_TOKEN).toBeUndefined();
    expect(loadConfig(READ).MAILPIT_URL).toBeUndefined();
  });

  it('when the read token is not set, then the web front still starts (without the operator reads)', () => {
    expect(loadConfig({}).OPERATOR_READ_TOKEN).toBeUndefined();
  });

  it('when URLs end with a slash, then it is dropped; an empty JAEGER_UI_URL switches trace links off', () => {
    const config = loadConfig({ ...READ, ORDER_URL: 'http://order:3000/', JAEGER_UI_URL: '', MAILPIT_URL: 'http://localhost:8025/' });
    expect([config.ORDER_URL, config.JAEGER_UI_URL, config.MAILPIT_URL]).toEqual(['http://order:3000', undefined, 'http://localhost:8025']);
  });

  it.each([
    [{ ORDER_URL: 'order:3000' }, 'ORDER_URL'],
    [{ MAILPIT_URL: 'ftp://mail' }, 'MAILPIT_URL'],
    [{ OBSERVER_URL: 'observer:3005' }, 'OBSERVER_URL'],
    [{ ADMIN_TOKEN: 'short' }, 'ADMIN_TOKEN'],
    [{ POLL_INTERVAL_MS: '10' }, 'POLL_INTERVAL_MS'],
    [{ PORT: '70000' }, 'PORT'],
    [{ JAEGER_UI_URL: 'jaeger' }, 'JAEGER_UI_URL'],
    [{ OPERATOR_READ_TOKEN: 'short' }, 'OPERATOR_READ_TOKEN'],
    [{ LIVE_STREAM_MAX_CLIENTS: '0' }, 'LIVE_STREAM_MAX_CLIENTS'],
    [{ LIVE_STREAM_HEARTBEAT_MS: '50' }, 'LIVE_STREAM_HEARTBEAT_MS'],
  ])('when %j, then start-up stops naming %s', (env, variable) => {
    expect(() => loadConfig({ ...READ, ...env })).toThrow(ConfigError);
    expect(() => loadConfig({ ...READ, ...env })).toThrow(new RegExp(`^invalid configuration:\\n  ${variable}: `));
  });
});
