import { HttpError } from '@troupe/platform';
import type { Express } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { notificationsFor } from '../db/notifications';

const query = z.object({ orderId: z.uuid('must be an order id (UUID)') });

export function notificationRoutes(app: Express, pool: Pool): void {
  app.get('/notifications', async (req, res) => {
    const parsed = query.safeParse(req.query);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid request: orderId: must be an order id (UUID)', [{ field: 'orderId', message: 'must be an order id (UUID)' }]);
    }
    res.json({ orderId: parsed.data.orderId, notifications: await notificationsFor(pool, parsed.data.orderId) });
  });
}
