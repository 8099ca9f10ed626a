import { describe, expect, it } from 'vitest';
import { findShortages, mergeLines } from './reserve-stock';

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
