import { ConfigError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

describe('gateway configuration', () => {
  it('when DATABASE_URL is not set outside development, then start-up fails naming it (no fallback to the postgres superuser)', () => {
    for (const env of [{}, { NODE_ENV: 'production' }]) {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      expect(() => loadConfig(env)).toThrow(/^ {2}DATABASE_URL: not set, and required/m);
    }
  });

  it('when NODE_ENV is development and DATABASE_URL is not set, then the local postgres superuser stands in', () => {
    expect(loadConfig({ NODE_ENV: 'development' }).DATABASE_URL).toBe('postgres://postgres@localhost:5432/gateway');
  });

  it('when DATABASE_URL is set, then it is used, with the documented defaults for the rest', () => {
    const url = 'postgres://troupe_gateway:secret@db:5432/gateway';
    expect(loadConfig({ DATABASE_URL: url })).toMatchObject({ DATABASE_URL: url, DATABASE_POOL_SIZE: 10, PORT: 3004, HOST: '127.0.0.1' });
  });
});
