import type { StockLevel } from '@troupe/contracts';
import type { UnitOfWork } from '@troupe/messaging/domain';
import { anEvent } from '@troupe/testing';
import { describe, expect, it } from 'vitest';
import { findShortages, mergeLines, reserveStock } from './reserve-stock';
import type { Line, StockStore } from './stock-store';

describe('reserving stock', () => {
  it('when one SKU is on two lines, then it is reserved once for the sum', () => {
    expect(mergeLines([{ sku: 'SKU-MUG', quantity: 2 }, { sku: 'SKU-CAP', quantity: 1 }, { sku: 'SKU-MUG', quantity: 3 }])).toEqual([
      { sku: 'SKU-CAP', quantity: 1 },
      { sku: 'SKU-MUG', quantity: 5 },
    ]);
  });

  it('when a line asks for more than is available, or for an unknown SKU, then it is short', () => {
    const stock = new Map([
      ['SKU-MUG', { sku: 'SKU-MUG', available: 4, reserved: 0 }],
      ['SKU-CAP', { sku: 'SKU-CAP', available: 1, reserved: 9 }],
    ]);
    expect(findShortages([{ sku: 'SKU-CAP', quantity: 1 }, { sku: 'SKU-MUG', quantity: 5 }, { sku: 'SKU-NONE', quantity: 1 }], stock)).toEqual([
      { sku: 'SKU-MUG', requested: 5, available: 4 },
      { sku: 'SKU-NONE', requested: 1, available: 0 },
    ]);
  });
});

/** The stock port in memory, and what the use case did through it and through its unit of work. */
function inMemory(levels: StockLevel[], alreadyReserved = false) {
  const reserved: Line[][] = [];
  const published: string[] = [];
  const store: StockStore = {
    lockStockFor: async (_tx, _orderId, skus) => ({ alreadyReserved, stock: new Map(levels.filter((l) => skus.includes(l.sku)).map((l) => [l.sku, l])) }),
    reserve: async (_tx, _id, _orderId, lines) => {
      reserved.push(lines);
    },
  };
  const uow: UnitOfWork = {
    db: {} as UnitOfWork['db'],
    publish: (type) => {
      published.push(type);
      return 'event-id';
    },
    onCommit: () => undefined,
  };
  return { store, uow, reserved, published };
}

describe('reserveStock, through its store port', () => {
  const paid = anEvent('PaymentCompleted', { data: { items: [{ sku: 'SKU-MUG', quantity: 2, unitPriceCents: 900 }] } });

  it('when the stock is there, then it is reserved and InventoryReserved is published', async () => {
    const { store, uow, reserved, published } = inMemory([{ sku: 'SKU-MUG', available: 2, reserved: 0 }]);
    await reserveStock(uow, store, paid);
    expect(reserved).toEqual([[{ sku: 'SKU-MUG', quantity: 2 }]]);
    expect(published).toEqual(['InventoryReserved']);
  });

  it('when a line is short, then nothing is reserved and InventoryRejected is published', async () => {
    const { store, uow, reserved, published } = inMemory([{ sku: 'SKU-MUG', available: 1, reserved: 0 }]);
    await reserveStock(uow, store, paid);
    expect(reserved).toEqual([]);
    expect(published).toEqual(['InventoryRejected']);
  });

  it('when the order already has a reservation, then nothing happens', async () => {
    const { store, uow, reserved, published } = inMemory([{ sku: 'SKU-MUG', available: 2, reserved: 0 }], true);
    await reserveStock(uow, store, paid);
    expect([reserved, published]).toEqual([[], []]);
  });
});
