import { failedAttemptsQuerySchema, type FailedAttemptList } from '@troupe/contracts';
import type { Messaging } from '@troupe/messaging';
import type { Express } from 'express';
import { hasAdminToken, HttpError } from '@troupe/platform';

/**
 * GET /failed-attempts?orderId=: the retries and dead-lettering an order's messages met in this
 * service (docs/design.md "HTTP API"). Public, as the order itself is to whoever has its id; the
 * error's message only with the admin token, since the failing code may have put anything in it.
 */
export function failedAttemptRoutes(app: Express, messaging: Messaging, adminToken: string | undefined): void {
  app.get('/failed-attempts', async (req, res) => {
    const parsed = failedAttemptsQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid request: orderId: must be an order id (UUID)', [{ field: 'orderId', message: 'must be an order id (UUID)' }]);
    }
    const { orderId } = parsed.data;
    res.locals.orderId = orderId;
    const admin = hasAdminToken(req, adminToken);
    const attempts = await messaging.failedAttempts.of(orderId);
    const body: FailedAttemptList = {
      orderId,
      failedAttempts: attempts.map(({ orderId: _order, error, ...rest }) => (admin ? { ...rest, error } : rest)),
    };
    res.json(body);
  });
}
