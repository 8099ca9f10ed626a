import { HttpError } from '@troupe/platform';
import { SERVICES, type FailedAttemptList, type GatewayEntry, type NotificationList, type OrderView, type PlacedOrder } from '@troupe/contracts';
import type { Express, Request, RequestHandler, Response } from 'express';
import { z } from 'zod';
import { buildJourney, type DeadLetterView, type ServiceFailedAttempts } from '../journey';
import type { OrdersFeed } from '../orders-feed';
import type { Upstream } from '../upstream';
import { deadLettersOf } from './dead-letters';
import { isAdmin } from './is-admin';

export interface OrderRoutesDeps {
  upstream: Upstream;
  feed: OrdersFeed;
  /** Set when an admin token is configured: a request it lets through also sees the order's dead letters. */
  adminGuard: RequestHandler | undefined;
  links: { jaegerUiUrl?: string | undefined; mailpitUrl?: string | undefined };
}

const orderId = z.uuid('must be an order id (UUID)');

/** Placing orders, the live list and one order's journey, for the page. */
export function orderRoutes(app: Express, deps: OrderRoutesDeps): void {
  const { upstream, feed } = deps;

  // The order service validates the order itself; its answer (a 202, or a 400 naming the field)
  // goes back to the page whole, with the headers a client would look at.
  app.post('/api/orders', async (req: Request, res: Response) => {
    const key = req.get('Idempotency-Key');
    const response = await upstream.call<PlacedOrder['body']>('order', '/orders', {
      method: 'POST',
      body: req.body ?? {},
      ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }),
    });
    feed.nudge();
    res.status(200).json({
      status: response.status,
      location: response.headers.get('location'),
      replayed: response.headers.get('idempotent-replayed') === 'true',
      body: response.body,
    } satisfies PlacedOrder);
  });

  app.get('/api/orders/stream', (_req, res) => feed.subscribe(res));

  app.get('/api/orders/:orderId/journey', async (req: Request<{ orderId: string }>, res: Response) => {
    const id = orderId.safeParse(req.params.orderId);
    if (!id.success) throw new HttpError(400, 'invalid request: orderId: must be an order id (UUID)', [{ field: 'orderId', message: 'must be an order id (UUID)' }]);
    const found = await upstream.call<OrderView>('order', `/orders/${id.data}`);
    if (found.status === 404) throw new HttpError(404, `no order ${id.data}`);
    if (found.status !== 200) throw new HttpError(502, `the order service answered ${found.status}`);
    const admin = await isAdmin(deps.adminGuard, req, res);
    const [notifications, deadLetters, failedAttempts, gatewayEntries] = await Promise.all([
      upstream
        .get<NotificationList>('notification', `/notifications?orderId=${id.data}`)
        .then((r) => r.notifications.map(({ id: _id, orderId: _orderId, ...told }) => told))
        .catch(() => []),
      admin ? deadLettersFor(upstream) : Promise.resolve([]),
      failedAttemptsFor(upstream, id.data, admin),
      // The card gateway's own record of the order's charges and refunds.
      upstream
        .get<{ entries: GatewayEntry[] }>('gateway', `/ledger?orderId=${id.data}`, { operator: true })
        .then((r) => r.entries)
        .catch(() => []),
    ]);
    res.json(buildJourney(found.body, { notifications, deadLetters, failedAttempts, gatewayEntries }, deps.links));
  });
}

// A service whose dead letters cannot be read now still leaves the journey readable.
async function deadLettersFor(upstream: Upstream): Promise<DeadLetterView[]> {
  const lists = await Promise.all(SERVICES.map((service) => deadLettersOf(upstream, service).catch(() => ({ service, count: 0, messages: [] }))));
  return lists.flatMap((l) => l.messages);
}

/**
 * Every service's record of the order's failed attempts: retries and dead-lettering happen inside
 * a service and change nothing in the order. Read with the operator token; the error messages
 * (which may hold anything the failing code put in them) go to the page only for an admin's
 * request. A service that does not answer now leaves the journey readable without its part.
 */
function failedAttemptsFor(upstream: Upstream, orderId: string, admin: boolean): Promise<ServiceFailedAttempts[]> {
  return Promise.all(
    SERVICES.map((service) =>
      upstream
        .get<FailedAttemptList>(service, `/failed-attempts?orderId=${orderId}`, { operator: true })
        .then(({ failedAttempts }) => ({ service, failedAttempts: admin ? failedAttempts : failedAttempts.map(({ error: _error, ...attempt }) => attempt) }))
        .catch(() => ({ service, failedAttempts: [] })),
    ),
  );
}
