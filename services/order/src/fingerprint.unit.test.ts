import { describe, expect, it } from 'vitest';
import { canonicalJson, fingerprint } from './fingerprint';

describe('a request fingerprint', () => {
  it('when two bodies differ only in key order, then they have one fingerprint', () => {
    const body = { customerId: 'c-1', items: [{ sku: 'SKU-MUG', quantity: 2 }], paymentMethod: { token: 'tok_visa' } };
    const reordered = { paymentMethod: { token: 'tok_visa' }, items: [{ quantity: 2, sku: 'SKU-MUG' }], customerId: 'c-1' };
    expect(canonicalJson(reordered)).toBe('{"customerId":"c-1","items":[{"quantity":2,"sku":"SKU-MUG"}],"paymentMethod":{"token":"tok_visa"}}');
    expect(fingerprint(reordered)).toBe(fingerprint(body));
    expect(fingerprint(body)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('when a value or the order of an array differs, then the fingerprint differs', () => {
    const items = [{ sku: 'SKU-MUG', quantity: 2 }, { sku: 'SKU-CAP', quantity: 1 }];
    expect(fingerprint({ items })).not.toBe(fingerprint({ items: [...items].reverse() }));
    expect(fingerprint({ quantity: 2 })).not.toBe(fingerprint({ quantity: '2' }));
    expect(fingerprint({ a: null })).not.toBe(fingerprint({}));
  });
});
