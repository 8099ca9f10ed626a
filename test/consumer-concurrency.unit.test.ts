/**
 * How many message-handling transactions each service runs at once (docs/decisions/0015): one
 * where the handlers only touch the service's database, four where they wait on an outside system.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig as inventory } from '../services/inventory/src/config';
import { loadConfig as notification } from '../services/notification/src/config';
import { loadConfig as order } from '../services/order/src/config';
import { loadConfig as payment } from '../services/payment/src/config';

describe('consumer lanes per service', () => {
  it.each([
    ['order', order, 1],
    ['inventory', inventory, 1],
    ['payment', payment, 4],
    ['notification', notification, 4],
  ])('when CONSUMER_CONCURRENCY is not set, then the %s service runs %i', (_name, load, lanes) => {
    expect(load({}).CONSUMER_CONCURRENCY).toBe(lanes);
  });

  it.each([
    ['order', order],
    ['payment', payment],
  ])('when CONSUMER_CONCURRENCY is set, then the %s service takes it over its default', (_name, load) => {
    expect(load({ CONSUMER_CONCURRENCY: '3' }).CONSUMER_CONCURRENCY).toBe(3);
  });

  it('when CONSUMER_CONCURRENCY is out of range, then the service refuses to start and names it', () => {
    expect(() => order({ CONSUMER_CONCURRENCY: '0' })).toThrow(/CONSUMER_CONCURRENCY/);
    expect(() => payment({ CONSUMER_CONCURRENCY: '33' })).toThrow(/CONSUMER_CONCURRENCY/);
  });
});
