import type { StockLevel, WebStock } from '@troupe/contracts';
import type { Express } from 'express';
import type { Upstream } from '../upstream';

/** The SKUs the demo shop sells (the order service's price list; inventory seeds the same). */
export const CATALOGUE = [
  { sku: 'SKU-TSHIRT', name: 'troupe T-shirt' },
  { sku: 'SKU-MUG', name: 'troupe mug' },
  { sku: 'SKU-HOODIE', name: 'troupe hoodie' },
  { sku: 'SKU-SOLDOUT', name: 'the thing everyone wants' },
] as const;

export function stockRoutes(app: Express, upstream: Upstream): void {
  app.get('/api/stock', async (_req, res) => {
    const stock = await Promise.all(
      CATALOGUE.map(async ({ sku, name }) => {
        const response = await upstream.call<StockLevel>('inventory', `/stock/${sku}`);
        return response.status === 200 ? { sku, name, available: response.body.available, reserved: response.body.reserved } : { sku, name, available: null, reserved: null };
      }),
    );
    res.json({ stock } satisfies WebStock);
  });
}
