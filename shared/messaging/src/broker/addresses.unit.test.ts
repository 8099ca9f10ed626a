import { describe, expect, it } from 'vitest';
import { BrokerAddresses, parseBrokerUrls } from './addresses';

const cluster = 'amqp://troupe:s%40cret@rabbit-0:5672/orders%2Fv1,amqp://troupe:s%40cret@rabbit-1:5673/orders%2Fv1,amqps://troupe:s%40cret@rabbit-2/orders%2Fv1';

describe('parseBrokerUrls', () => {
  it('when one URL is given, then it is the only node', () => {
    expect(parseBrokerUrls('amqp://guest:guest@localhost:5672').map(String)).toEqual(['amqp://guest:guest@localhost:5672']);
  });

  it('when URLs are comma-separated (spaces allowed), then each is a node', () => {
    expect(parseBrokerUrls('amqp://a:5672, amqp://b:5672').map((url) => url.hostname)).toEqual(['a', 'b']);
  });

  it.each([
    ['amqp://a:5672,', /empty entry/],
    ['amqp://a:5672,,amqp://b', /empty entry/],
    ['amqp://a:5672,b:5672', /entry 2/],
    ['amqp://a:5672,http://b', /entry 2 must be amqp/],
    ['not a url', /entry 1 is not a URL/],
  ])('when RABBITMQ_URL is %j, then it is rejected naming the entry', (value, message) => {
    expect(() => parseBrokerUrls(value)).toThrow(message);
  });
});

describe('BrokerAddresses', () => {
  it('when advanced, then the target visits every node in turn and wraps around', () => {
    const addresses = new BrokerAddresses(cluster, 10);
    const seen = [addresses.current];
    for (let i = 0; i < 3; i++) {
      addresses.advance();
      seen.push(addresses.current);
    }

    expect(new Set(seen.slice(0, 3))).toEqual(new Set(['rabbit-0:5672', 'rabbit-1:5673', 'rabbit-2:5671']));
    expect(seen[3]).toBe(seen[0]);
  });

  it('when pointed at a node, then the target reads as amqplib reads a URL string', () => {
    const addresses = new BrokerAddresses(cluster, 10);
    while (addresses.current !== 'rabbit-2:5671') addresses.advance();

    expect(addresses.target).toMatchObject({
      protocol: 'amqps',
      hostname: 'rabbit-2',
      port: undefined,
      username: 'troupe',
      password: 's@cret',
      vhost: 'orders%2Fv1',
      heartbeat: 10,
    });
  });

  it('when the URL has no credentials, then none are set (amqplib then uses guest/guest)', () => {
    const { target } = new BrokerAddresses('amqp://localhost?heartbeat=3', 10);

    expect(target).toMatchObject({ username: undefined, password: undefined, vhost: undefined, heartbeat: 3 });
  });

  it('when reporting the node, then the credentials never appear', () => {
    expect(new BrokerAddresses(cluster, 10).current).not.toContain('cret');
  });
});
