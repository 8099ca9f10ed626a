import { ConfigError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

describe('notification configuration', () => {
  const env = { NODE_ENV: 'development' };

  it('when the pool is no larger than the transactions in flight, then start-up fails naming DATABASE_POOL_SIZE', () => {
    expect(() => loadConfig({ ...env, DATABASE_POOL_SIZE: '4', CONSUMER_CONCURRENCY: '4' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, DATABASE_POOL_SIZE: '4', CONSUMER_CONCURRENCY: '4' })).toThrow(/^ {2}DATABASE_POOL_SIZE: must be larger than CONSUMER_CONCURRENCY/m);
  });

  it('when the pool has a connection to spare beside every transaction in flight, then the configuration stands', () => {
    expect(loadConfig({ ...env, DATABASE_POOL_SIZE: '5', CONSUMER_CONCURRENCY: '4' })).toMatchObject({ DATABASE_POOL_SIZE: 5, CONSUMER_CONCURRENCY: 4 });
  });
});
