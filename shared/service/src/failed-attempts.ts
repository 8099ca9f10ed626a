import { failedAttemptsQuerySchema, type FailedAttemptList } from '@troupe/contracts';
import type { Messaging } from '@troupe/messaging';
import type { Express, RequestHandler } from 'express';
import { HttpError } from '@troupe/platform';

/**
 * GET /failed-attempts?orderId=: the retries and dead-lettering an order's messages met in this
 * service (docs/design.md "HTTP API"). An operator's view, behind `guard`: queues, event ids and
 * error texts (which may hold anything the failing code put in them) are the system's
 * internals, not the customer's order (docs/decisions/0029).
 */
export function failedAttemptRoutes(app: Express, messaging: Messaging, guard: RequestHandler): void {
  app.get('/failed-attempts', guard, async (req, res) => {
    const parsed = failedAttemptsQuerySchema.safeParse(req.query);
    if (!parsed.success) {
      throw new HttpError(400, 'invalid request: orderId: must be an order id (UUID)', [{ field: 'orderId', message: 'must be an order id (UUID)' }]);
    }
    const { orderId } = parsed.data;
    res.locals.orderId = orderId;
    const attempts = await messaging.failedAttempts.of(orderId);
    const body: FailedAttemptList = { orderId, failedAttempts: attempts.map(({ orderId: _order, ...rest }) => rest) };
    res.json(body);
  });
}
