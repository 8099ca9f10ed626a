import { deadLetterQueueOf, exchangeOf, observerQueueOf, ownExchangeOf, queueOf, SERVICES, type ServiceName } from '@troupe/contracts';
import { createTestDatabase, createTestVhost, withCredentials, type BrokerUser, type TestDatabase, type TestVhost } from '@troupe/testing';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';

// Each service's broker user and database role, set up exactly as the services get them
// everywhere (tests, `make dev`, the bench, compose), tried against what belongs to a neighbour.
// Every refusal is paired with the same action on the service's own resources succeeding, so a
// user that could do nothing at all would fail too.

let vhost: TestVhost;
const databases = new Map<ServiceName, TestDatabase>();
const connections: ChannelModel[] = [];

beforeAll(async () => {
  const access = inject('access');
  vhost = await createTestVhost(inject('rabbitmqUrl'), inject('brokerAdmin'), access, 'privilege');
  for (const service of ['order', 'payment', 'inventory'] as const) {
    databases.set(service, await createTestDatabase(inject('databaseUrl'), `privilege_${service}`, access[service]));
  }
  // The queues the attempts aim at, declared by the operator as the services would declare them.
  const operator = await connect(vhost.url);
  connections.push(operator);
  const channel = await operator.createChannel();
  for (const [consumer, producer] of [
    ['order', 'payment'],
    ['payment', 'order'],
    ['inventory', 'payment'],
  ] as const) {
    await channel.assertQueue(queueOf(consumer, exchangeOf(producer)), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
  }
});

afterAll(async () => {
  await Promise.allSettled(connections.map((c) => c.close()));
  await Promise.allSettled([...databases.values()].map((db) => db.drop()));
  await vhost?.delete();
});

const connectionsAs = new Map<BrokerUser, Promise<ChannelModel>>();
async function channelAs(service: BrokerUser): Promise<ConfirmChannel> {
  if (!connectionsAs.has(service)) {
    connectionsAs.set(
      service,
      connect(vhost.urlFor(service)).then((connection) => {
        connection.on('error', () => undefined);
        connections.push(connection);
        return connection;
      }),
    );
  }
  return (await connectionsAs.get(service)!).createConfirmChannel();
}

/** Runs one AMQP operation on a fresh channel: 'ok', or the broker's reply code (403 = ACCESS_REFUSED). */
async function attempt(service: BrokerUser, operation: (channel: ConfirmChannel) => Promise<unknown>): Promise<'ok' | number> {
  const channel = await channelAs(service);
  // A refused operation closes the channel: the reply code arrives on 'error', while a pending
  // publish confirm only learns that the channel closed.
  let refusal: number | undefined;
  channel.on('error', (error: { code?: number }) => (refusal = error.code));
  try {
    await operation(channel);
    await channel.close();
    return 'ok';
  } catch (error) {
    return refusal ?? (error as { code?: number }).code ?? -1;
  }
}

const publish = (exchange: string, routingKey = '') => (channel: ConfirmChannel) =>
  new Promise<void>((resolve, reject) => {
    channel.publish(exchange, routingKey, Buffer.from('{}'), { persistent: true }, (error) => (error ? reject(error) : resolve()));
  });
const consume = (queue: string) => async (channel: ConfirmChannel) => {
  const { consumerTag } = await channel.consume(queue, () => undefined);
  await channel.cancel(consumerTag);
};
const deleteQueue = (queue: string) => (channel: ConfirmChannel) => channel.deleteQueue(queue);
const purgeQueue = (queue: string) => (channel: ConfirmChannel) => channel.purgeQueue(queue);

async function connectsTo(database: ServiceName, as: ServiceName): Promise<'ok' | string> {
  const access = inject('access')[as];
  const url = new URL(withCredentials(databases.get(database)!.url, access.dbRole, access.dbPassword));
  const client = new pg.Client({ connectionString: url.toString() });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return 'ok';
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  } finally {
    await client.end().catch(() => undefined);
  }
}

describe.each([
  { me: 'payment' as const, neighbour: 'inventory' as const, theirQueue: queueOf('order', exchangeOf('payment')), myQueue: queueOf('payment', exchangeOf('order')) },
  { me: 'order' as const, neighbour: 'payment' as const, theirQueue: queueOf('payment', exchangeOf('order')), myQueue: queueOf('order', exchangeOf('payment')) },
])("with $me's credentials", ({ me, neighbour, theirQueue, myQueue }) => {
  it(`when it publishes on ${exchangeOf(neighbour)}, then the broker refuses; on ${exchangeOf(me)}, it accepts`, async () => {
    expect(await attempt(me, publish(exchangeOf(neighbour)))).toBe(403);
    expect(await attempt(me, publish(exchangeOf(me)))).toBe('ok');
  });

  it('when it sends straight to a neighbour queue (default exchange or theirs), then the broker refuses; through its own exchange, it accepts', async () => {
    expect(await attempt(me, publish('', theirQueue))).toBe(403);
    expect(await attempt(me, publish(ownExchangeOf(neighbour), theirQueue))).toBe(403);
    expect(await attempt(me, (c) => c.assertExchange(ownExchangeOf(me), 'direct', { durable: true }).then(() => publish(ownExchangeOf(me), myQueue)(c)))).toBe('ok');
  });

  it(`when it consumes from ${theirQueue}, then the broker refuses; from ${myQueue}, it accepts`, async () => {
    expect(await attempt(me, consume(theirQueue))).toBe(403);
    expect(await attempt(me, consume(myQueue))).toBe('ok');
  });

  it('when it deletes or purges a queue not its own, then the broker refuses, and the queue is still there', async () => {
    expect(await attempt(me, deleteQueue(theirQueue))).toBe(403);
    expect(await attempt(me, purgeQueue(theirQueue))).toBe(403);
    expect(await attempt(me, deleteQueue(deadLetterQueueOf(neighbour)))).toBe(403);
    expect(await attempt('inventory', (c) => c.checkQueue(queueOf('inventory', exchangeOf('payment'))))).toBe('ok');
    const operator = await connect(vhost.url);
    connections.push(operator);
    expect((await (await operator.createChannel()).checkQueue(theirQueue)).queue).toBe(theirQueue);
  });

  it(`when it connects to ${neighbour}'s database, then Postgres refuses; to its own, it accepts`, async () => {
    expect(await connectsTo(neighbour, me)).toBe('42501'); // insufficient_privilege: no CONNECT
    expect(await connectsTo(me, me)).toBe('ok');
  });

  it("when it tries to drop a neighbour's database or create one, then Postgres refuses", async () => {
    const access = inject('access')[me];
    const client = new pg.Client({ connectionString: withCredentials(databases.get(me)!.url, access.dbRole, access.dbPassword) });
    await client.connect();
    try {
      await expect(client.query(`DROP DATABASE "${databases.get(neighbour)!.name}"`)).rejects.toMatchObject({ code: '42501' });
      await expect(client.query('CREATE DATABASE troupe_should_not_exist')).rejects.toMatchObject({ code: '42501' });
      const { rows } = await client.query<{ rolsuper: boolean; rolcreatedb: boolean; rolcreaterole: boolean }>(
        'SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0]).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false });
    } finally {
      await client.end();
    }
  });
});

describe("the observer's user", () => {
  const serviceQueue = queueOf('payment', exchangeOf('order'));

  it('when it publishes on any exchange, or straight to a queue, then the broker refuses', async () => {
    for (const service of SERVICES) expect([service, await attempt('observer', publish(exchangeOf(service)))]).toEqual([service, 403]);
    expect(await attempt('observer', publish('', serviceQueue))).toBe(403);
  });

  it('when it binds an exclusive, bounded queue of its own to an exchange and consumes it, then the broker accepts', async () => {
    const own = observerQueueOf(exchangeOf('order'));
    const outcome = await attempt('observer', async (channel) => {
      await channel.assertQueue(own, { exclusive: true, autoDelete: true, durable: false, arguments: { 'x-max-length': 100, 'x-overflow': 'drop-head' } });
      await channel.bindQueue(own, exchangeOf('order'), '');
      await consume(own)(channel);
    });
    expect(outcome).toBe('ok');
  });

  it("when it consumes, purges, deletes or declares a service's queue, then the broker refuses; a passive declare reads its depth", async () => {
    expect(await attempt('observer', consume(serviceQueue))).toBe(403);
    expect(await attempt('observer', purgeQueue(serviceQueue))).toBe(403);
    expect(await attempt('observer', deleteQueue(serviceQueue))).toBe(403);
    expect(await attempt('observer', (channel) => channel.assertQueue('payment.extra', { durable: true }))).toBe(403);
    let depth: unknown;
    expect(await attempt('observer', async (channel) => (depth = await channel.checkQueue(serviceQueue)))).toBe('ok');
    expect(depth).toMatchObject({ queue: serviceQueue, messageCount: 0, consumerCount: 0 });
  });
});
