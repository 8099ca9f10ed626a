import { SKU_PATTERN, type StockLevel } from '@troupe/contracts';
import { HttpError } from '@troupe/platform';
import type { Express } from 'express';
import type { Pool } from 'pg';
import { getStock } from '../db/stock';

export function stockRoutes(app: Express, pool: Pool): void {
  app.get('/stock/:sku', async (req, res) => {
    const { sku } = req.params;
    const level = SKU_PATTERN.test(sku) ? await getStock(pool, sku) : undefined;
    if (!level) throw new HttpError(404, `no such SKU ${sku.slice(0, 64)}`);
    res.json(level satisfies StockLevel);
  });
}
