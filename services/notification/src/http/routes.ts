import type { NotificationList } from '@troupe/contracts';
import { HttpError, type OperatorReads } from '@troupe/platform';
import type { Express } from 'express';
import type { Pool } from 'pg';
import { z } from 'zod';
import { notificationsFor } from '../db/notifications';

const query = z.object({ orderId: z.uuid('must be an order id (UUID)') });

/**
 * What the customer was told about an order: a customer's view, found by the order's unguessable
 * id, of the kind, the channel, the subject and when. The address and the body are personal data:
 * only an operator's request sees them (docs/decisions/0029).
 */
export function notificationRoutes(app: Express, pool: Pool, operator: OperatorReads | undefined): void {
  app.get('/notifications', async (req, res) => {
    const parsed = query.safeParse(req.query);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid request: orderId: must be an order id (UUID)', [{ field: 'orderId', message: 'must be an order id (UUID)' }]);
    }
    const notifications = await notificationsFor(pool, parsed.data.orderId);
    const personal = operator?.allows(req) ?? false;
    res.json({
      orderId: parsed.data.orderId,
      notifications: personal ? notifications : notifications.map(({ recipient: _recipient, body: _body, ...rest }) => rest),
    } satisfies NotificationList);
  });
}
