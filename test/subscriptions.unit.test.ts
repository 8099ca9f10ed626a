/**
 * The published contract says who consumes what (`SUBSCRIBED_EVENTS`, from which the AsyncAPI
 * document's receive operations and the broker permissions are made); each service's subscription
 * table is what it actually consumes. The two must say the same.
 */
import { describe, expect, it } from 'vitest';
import { exchangeOf, SERVICES, SUBSCRIBED_EVENTS, type ServiceName } from '@troupe/contracts';
import type { Subscription } from '../shared/messaging/src/consume/handler';
import { subscriptions as inventory } from '../services/inventory/src/handlers';
import { subscriptions as notification } from '../services/notification/src/handlers';
import { subscriptions as order } from '../services/order/src/handlers';
import { subscriptions as payment } from '../services/payment/src/handlers';

// The handlers' own dependencies are never called: only the table's shape is read.
const tables: Record<ServiceName, Subscription[]> = {
  order: order({} as never, {} as never),
  payment: payment({} as never, {} as never),
  inventory: inventory({} as never, {} as never),
  notification: notification({} as never, {} as never),
};

describe('the subscription tables', () => {
  it.each(SERVICES)('when %s subscribes, then it handles exactly the events the contract lists, from the exchanges it lists', (service) => {
    const actual = Object.fromEntries(tables[service].map((s) => [s.exchange, Object.keys(s.handlers).sort()]));
    const contract = Object.fromEntries(Object.entries(SUBSCRIBED_EVENTS[service]).map(([producer, types]) => [exchangeOf(producer as ServiceName), [...types].sort()]));
    expect(actual).toEqual(contract);
  });
});
