import { describe, expect, it } from 'vitest';
import { ledgerTotals, ledgerViolations, type LedgerCount, type Placed } from './load';

const order = (orderId: string, kind: Placed['kind']): Placed => ({ orderId, kind, sku: 'SKU-MUG', quantity: 1 });
const counts = (entries: [string, LedgerCount][]) => new Map(entries);

describe('ledgerViolations', () => {
  it('when every order holds exactly what its kind says, then nothing is listed', () => {
    const placed = [order('a', 'visa'), order('b', 'flaky'), order('c', 'declined'), order('d', 'soldout')];
    const held = counts([
      ['a', { approved: 1, declined: 0, refunds: 0 }],
      ['b', { approved: 1, declined: 0, refunds: 0 }],
      ['c', { approved: 0, declined: 1, refunds: 0 }],
      ['d', { approved: 1, declined: 0, refunds: 1 }],
    ]);

    expect(ledgerViolations(placed, held)).toEqual([]);
    expect(ledgerTotals(held)).toEqual({ approved: 3, declined: 1, refunds: 1 });
  });

  it('when a card is charged twice, a sold-out order is refunded twice or not at all, a paid order refunded, or an order never charged, then each is listed with what the gateway holds', () => {
    const placed = [order('twice', 'visa'), order('refunded-twice', 'soldout'), order('not-refunded', 'soldout'), order('refunded', 'flaky'), order('never', 'declined')];
    const held = counts([
      ['twice', { approved: 2, declined: 0, refunds: 0 }],
      ['refunded-twice', { approved: 1, declined: 0, refunds: 2 }],
      ['not-refunded', { approved: 1, declined: 0, refunds: 0 }],
      ['refunded', { approved: 1, declined: 0, refunds: 1 }],
    ]);

    expect(ledgerViolations(placed, held)).toEqual([
      'twice (visa): 2 approved, 0 declined, 0 refunds',
      'refunded-twice (soldout): 1 approved, 0 declined, 2 refunds',
      'not-refunded (soldout): 1 approved, 0 declined, 0 refunds',
      'refunded (flaky): 1 approved, 0 declined, 1 refunds',
      'never (declined): 0 approved, 0 declined, 0 refunds',
    ]);
  });
});
