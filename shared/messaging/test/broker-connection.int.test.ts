import { createTestVhost, eventually, type TestVhost } from '@troupe/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { BrokerConnection } from '../src/broker/connection';

// What a service logs while it looks for a node of its broker, against the real broker: a
// cluster address list where some nodes answer nothing (closed ports refuse at once).
let vhost: TestVhost;
const ABSENT = (port: number) => `amqp://nobody:nothing@127.0.0.1:${port}`;

beforeAll(async () => {
  vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), inject('access'), 'connection');
});
afterAll(async () => {
  await vhost?.delete();
});

function connectionTo(url: string) {
  const lines: { level: number; msg: string; node?: string; err?: string; nodes?: { node: string; err: string }[] }[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  const connection = new BrokerConnection({
    url,
    name: 'connection-test',
    logger,
    heartbeatSeconds: 10,
    giveUpAfterMs: 60_000,
    setup: async () => undefined,
    onDisconnect: () => undefined,
    onFatal: (error) => {
      throw error;
    },
  });
  return { connection, lines, warnings: () => lines.filter((l) => l.level >= 40) };
}

describe('finding a broker node', () => {
  it('when some nodes of the list do not answer and one does, then it connects and warns of nothing', async () => {
    const { connection, lines, warnings } = connectionTo([ABSENT(1), ABSENT(2), vhost.urlFor('payment')].join(','));
    // Start on the first node (the start is random, to spread replicas over a cluster), so both
    // absent nodes are tried before the live one.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0);
    try {
      await connection.open();
      await connection.connected();
      expect(warnings()).toEqual([]);
      expect(lines.filter((l) => l.level === 20).map((l) => l.msg)).toEqual(['broker node not reachable; trying the next', 'broker node not reachable; trying the next']);
    } finally {
      random.mockRestore();
      await connection.close();
    }
  });

  it('when no node of the list answers, then it warns once per round, naming every node and why', async () => {
    const { connection, warnings } = connectionTo([ABSENT(1), ABSENT(2)].join(','));
    try {
      await connection.open();
      await eventually(async () => warnings().length >= 2, { what: 'two rounds failed' });
      const [first] = warnings();
      expect(first?.msg).toBe('cannot reach any broker node yet; retrying');
      expect(first?.nodes?.map((n) => n.node).sort()).toEqual(['127.0.0.1:1', '127.0.0.1:2']);
      expect(first?.nodes?.every((n) => /ECONNREFUSED/.test(n.err))).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('when a node answers but refuses (wrong credentials), then that is a warning at once, not a node out of reach', async () => {
    const refusing = Object.assign(new URL(vhost.urlFor('payment')), { password: 'not-the-password' }).toString();
    const { connection, warnings } = connectionTo([ABSENT(1), refusing].join(','));
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.99); // start on the refusing node
    try {
      await connection.open();
      await eventually(async () => warnings().length >= 1, { what: 'the refusal warned' });
      expect(warnings()[0]).toMatchObject({ msg: 'the broker refused the connection or its setup; retrying', node: `${new URL(refusing).hostname}:${new URL(refusing).port || 5672}` });
    } finally {
      random.mockRestore();
      await connection.close();
    }
  });
});
