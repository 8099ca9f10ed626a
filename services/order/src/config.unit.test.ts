import { ConfigError } from '@troupe/platform';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';

/** The two variables that are always required outside development. */
const CONNECTIONS = { RABBITMQ_URL: 'amqp://troupe-order:secret@rabbit:5672', DATABASE_URL: 'postgres://troupe_order:secret@db:5432/order' };

const failureOf = (env: NodeJS.ProcessEnv): Error => {
  try {
    loadConfig({ ...CONNECTIONS, ...env });
  } catch (error) {
    return error as Error;
  }
  throw new Error('loadConfig accepted an invalid environment');
};

describe('order configuration', () => {
  it('when only the broker and the database are set, then the documented defaults apply to the rest', () => {
    expect(loadConfig(CONNECTIONS)).toMatchObject({
      ...CONNECTIONS,
      PORT: 3000,
      LOG_LEVEL: 'info',
      MAX_BODY_BYTES: 16_384,
      INBOX_RETENTION_SECONDS: 1_209_600,
      PRUNE_INTERVAL_MS: 60_000,
      PRUNE_BATCH_SIZE: 1000,
      CONSUMER_CONCURRENCY: 4,
      CONSUMER_SPREAD_AFTER_MS: 50,
      ORDER_MAX_IN_FLIGHT: 32,
      ORDER_MAX_QUEUE_WAIT_MS: 2000,
    });
  });

  it('when the pruning, the overload or the consumer bounds are out of range, then the error names each of them', () => {
    const error = failureOf({
      CONSUMER_SPREAD_AFTER_MS: '-5',
      INBOX_RETENTION_SECONDS: '60',
      PRUNE_INTERVAL_MS: 'often',
      PRUNE_BATCH_SIZE: '0',
      ORDER_MAX_IN_FLIGHT: '0',
      ORDER_MAX_QUEUE_WAIT_MS: '-1',
    });

    for (const name of ['CONSUMER_SPREAD_AFTER_MS', 'INBOX_RETENTION_SECONDS', 'PRUNE_INTERVAL_MS', 'PRUNE_BATCH_SIZE', 'ORDER_MAX_IN_FLIGHT', 'ORDER_MAX_QUEUE_WAIT_MS']) {
      expect(error.message).toContain(name);
    }
  });

  it('when values are given as strings, then they are parsed to their types', () => {
    expect(loadConfig({ ...CONNECTIONS, PORT: '8080', RETRY_MAX_ATTEMPTS: '4', MAX_BODY_BYTES: '2048' })).toMatchObject({
      PORT: 8080,
      RETRY_MAX_ATTEMPTS: 4,
      MAX_BODY_BYTES: 2048,
    });
  });

  it('when PORT is not a number, then start-up fails with a ConfigError naming PORT', () => {
    const error = failureOf({ PORT: 'eighty' });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/\bPORT\b/);
  });

  it('when RABBITMQ_URL is not an amqp URL, then the error names RABBITMQ_URL', () => {
    const error = failureOf({ RABBITMQ_URL: 'http://x' });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/\bRABBITMQ_URL\b/);
    expect(error.message).not.toMatch(/\bPORT\b/);
  });

  it('when RABBITMQ_URL lists the nodes of a cluster, then it is accepted as given', () => {
    const nodes = 'amqp://u:p@rabbit-0:5672,amqp://u:p@rabbit-1:5672,amqp://u:p@rabbit-2:5672';

    expect(loadConfig({ ...CONNECTIONS, RABBITMQ_URL: nodes }).RABBITMQ_URL).toBe(nodes);
  });

  it('when one node of RABBITMQ_URL is not an amqp URL, then the error names RABBITMQ_URL and the entry', () => {
    const error = failureOf({ RABBITMQ_URL: 'amqp://u:p@rabbit-0:5672,rabbit-1:5672' });

    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(/RABBITMQ_URL: entry 2/);
  });

  it('when several values are bad, then the error names each of them', () => {
    const error = failureOf({ PORT: '70000', DATABASE_URL: 'mysql://db', LOG_LEVEL: 'loud', MAX_BODY_BYTES: '1' });

    for (const name of ['PORT', 'DATABASE_URL', 'LOG_LEVEL', 'MAX_BODY_BYTES']) expect(error.message).toContain(name);
  });

  // BUG (shared/service/src/config.ts): PORT is int(1, 65535), yet startService documents PORT=0
  // ("any free port", used by tests and side-by-side replicas). Turn into `it` once 0 is allowed.
  it('when a token is short, has a space or is still the example placeholder, then the error names it; a good one is taken as given', () => {
    expect(failureOf({ ADMIN_TOKEN: 'short' }).message).toMatch(/ADMIN_TOKEN: must be at least 16 visible ASCII characters/);
    expect(failureOf({ OPERATOR_READ_TOKEN: 'sixteen chars ok but spaced' }).message).toMatch(/OPERATOR_READ_TOKEN: must be at least 16 visible ASCII characters/);
    expect(failureOf({ OPERATOR_READ_TOKEN: '<operator-read-token>' }).message).toMatch(/OPERATOR_READ_TOKEN: is still the placeholder/);
    expect(loadConfig({ ...CONNECTIONS, OPERATOR_READ_TOKEN: '0f'.repeat(24) }).OPERATOR_READ_TOKEN).toBe('0f'.repeat(24));
  });

  it('when PORT is 0, then it is accepted (bind any free port)', () => {
    expect(loadConfig({ ...CONNECTIONS, PORT: '0' }).PORT).toBe(0);
  });
});

describe('order configuration: the broker and the database outside development', () => {
  it.each([undefined, 'production', 'test', 'staging'])(
    'when NODE_ENV is %s and neither RABBITMQ_URL nor DATABASE_URL is set, then start-up fails naming both, with no fallback to guest or postgres',
    (nodeEnv) => {
      const error = failureOf({ NODE_ENV: nodeEnv, RABBITMQ_URL: undefined, DATABASE_URL: undefined });

      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/^ {2}RABBITMQ_URL: not set, and required/m);
      expect(error.message).toMatch(/^ {2}DATABASE_URL: not set, and required/m);
    },
  );

  it('when only DATABASE_URL is missing, then the error names it alone', () => {
    const error = failureOf({ NODE_ENV: 'production', DATABASE_URL: undefined });

    expect(error.message).toMatch(/\bDATABASE_URL: not set\b/);
    expect(error.message).not.toMatch(/\bRABBITMQ_URL\b/);
  });

  it('when NODE_ENV is development and neither is set, then the local servers\' stock users stand in', () => {
    expect(loadConfig({ NODE_ENV: 'development' })).toMatchObject({
      RABBITMQ_URL: 'amqp://guest:guest@localhost:5672',
      DATABASE_URL: 'postgres://postgres@localhost:5432/order',
    });
  });

  it('when NODE_ENV is development and both are set, then they are used as given', () => {
    expect(loadConfig({ NODE_ENV: 'development', ...CONNECTIONS })).toMatchObject(CONNECTIONS);
  });

  it('when NODE_ENV is development and a value is set but bad, then it is refused, not replaced', () => {
    const error = failureOf({ NODE_ENV: 'development', RABBITMQ_URL: '', DATABASE_URL: 'mysql://db' });

    expect(error.message).toMatch(/\bRABBITMQ_URL\b/);
    expect(error.message).toMatch(/\bDATABASE_URL: must be a URL like postgres:/);
  });
});
