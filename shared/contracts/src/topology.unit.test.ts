import { describe, expect, it } from 'vitest';
import { brokerPermissionsOf, deadLetterQueueOf, exchangeOf, ownExchangeOf, queueOf, SERVICES, SUBSCRIPTIONS } from './topology';

const matches = (pattern: string, name: string) => new RegExp(pattern).test(name);

describe('broker permissions', () => {
  it.each(SERVICES)('when %s is checked, then it owns its exchange, queues, wait queues and DLQ', (service) => {
    const p = brokerPermissionsOf(service);
    const own = [exchangeOf(service), ownExchangeOf(service), deadLetterQueueOf(service)];
    for (const producer of SUBSCRIPTIONS[service]) own.push(queueOf(service, exchangeOf(producer)), `${queueOf(service, exchangeOf(producer))}.retry.1000ms`);
    for (const name of own) for (const kind of ['configure', 'write', 'read'] as const) expect(matches(p[kind], name), `${kind} ${name}`).toBe(true);
  });

  it.each(SERVICES)('when %s is checked, then it reads only the exchanges it subscribes to and writes nothing of others', (service) => {
    const p = brokerPermissionsOf(service);
    for (const other of SERVICES.filter((s) => s !== service)) {
      const theirs = [exchangeOf(other), ownExchangeOf(other), deadLetterQueueOf(other), queueOf(other, exchangeOf(service))];
      for (const name of theirs) {
        expect(matches(p.configure, name), `configure ${name}`).toBe(false);
        expect(matches(p.write, name), `write ${name}`).toBe(false);
      }
      expect(matches(p.read, exchangeOf(other))).toBe(SUBSCRIPTIONS[service].includes(other));
      expect(matches(p.read, queueOf(other, exchangeOf(service)))).toBe(false);
    }
    for (const name of ['', 'amq.default', 'amq.direct', `${service}x.events`]) {
      expect(matches(p.write, name), `write '${name}'`).toBe(false);
      expect(matches(p.configure, name), `configure '${name}'`).toBe(false);
    }
  });
});
