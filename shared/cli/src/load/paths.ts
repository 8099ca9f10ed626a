import type { OrderRequest } from '@troupe/contracts';

/** The deterministic paths of the demo, as the load generator places them. */
export const PATHS = {
  paid: { sku: 'SKU-TSHIRT', token: 'tok_visa', expected: 'COMPLETED' },
  declined: { sku: 'SKU-MUG', token: 'tok_declined', expected: 'CANCELLED' },
  soldout: { sku: 'SKU-SOLDOUT', token: 'tok_visa', expected: 'CANCELLED' },
  flaky: { sku: 'SKU-HOODIE', token: 'tok_flaky', expected: 'COMPLETED' },
} as const;

export type PathName = keyof typeof PATHS;
export const PATH_NAMES = Object.keys(PATHS) as PathName[];

export function orderRequest(path: PathName, n: number): OrderRequest {
  const { sku, token } = PATHS[path];
  return { customerId: `load-${n}`, email: `load-${n}@example.com`, items: [{ sku, quantity: 1 }], paymentMethod: { token } };
}

/**
 * Which path the next order takes: always the one furthest behind its share, so any count
 * follows the mix as closely as whole orders can (8 orders at 1:1:1:1 are exactly 2 of each).
 */
export function pathPicker(mix: Partial<Record<PathName, number>>): () => PathName {
  const entries = PATH_NAMES.filter((p) => (mix[p] ?? 0) > 0).map((p) => ({ path: p, weight: mix[p] as number, sent: 0 }));
  const total = entries.reduce((sum, e) => sum + e.weight, 0);
  let n = 0;
  return () => {
    n += 1;
    let best = entries[0]!;
    for (const e of entries) if (e.weight / total * n - e.sent > best.weight / total * n - best.sent) best = e;
    best.sent += 1;
    return best.path;
  };
}
