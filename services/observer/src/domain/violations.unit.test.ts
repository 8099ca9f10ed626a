import { describe, expect, it } from 'vitest';
import { Violations } from './violations';

const AT = new Date('2026-12-07T10:00:00Z');
const ORDER = '00000000-0000-4000-8000-000000000001';

describe('the violations', () => {
  it("when an order's violation is resolved, then it is not opened again while the order is in the window; once the order leaves, it may be", () => {
    const violations = new Violations();
    const forged = { id: `events-consistent:${ORDER}`, invariant: 'events-consistent' as const, orderId: ORDER, detail: 'InventoryReserved without a PaymentCompleted' };
    violations.report(forged, AT);
    expect(violations.resolve(forged.id)).toMatchObject({ id: forged.id });
    violations.report(forged, AT);
    expect(violations.list()).toEqual([]);
    violations.forgetOrder(ORDER);
    violations.report(forged, AT);
    expect(violations.list()).toHaveLength(1);
  });

  it('when a stock violation is resolved, then the SKU is judged afresh: a new mismatch opens again', () => {
    const violations = new Violations();
    const stock = { id: 'stock-matches:SKU-MUG', invariant: 'stock-matches' as const, sku: 'SKU-MUG', detail: 'inventory reports 8 reserved; the InventoryReserved seen put it at 3' };
    violations.report(stock, AT);
    expect(violations.resolve(stock.id)).toMatchObject({ sku: 'SKU-MUG' });
    expect(violations.resolve(stock.id)).toBeUndefined();
    violations.report(stock, AT);
    expect(violations.openCounts()['stock-matches']).toBe(1);
    expect(violations.foundCounts()['stock-matches']).toBe(2);
  });

  it('when an order leaves the window, then its open violations close with it (the gauge goes back to 0)', () => {
    const violations = new Violations();
    violations.report({ id: `order-settles:${ORDER}`, invariant: 'order-settles', orderId: ORDER, detail: 'not settled' }, AT);
    violations.report({ id: `events-consistent:${ORDER}`, invariant: 'events-consistent', orderId: ORDER, detail: 'two notifications' }, AT);
    expect(violations.concerns(ORDER)).toBe(true);
    violations.forgetOrder(ORDER);
    expect(violations.concerns(ORDER)).toBe(false);
    expect(Object.values(violations.openCounts())).toEqual([0, 0, 0, 0]);
  });
});
