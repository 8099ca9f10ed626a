import { trace } from '@opentelemetry/api';
import type { OrderList, OrderRequest, OrderView } from '@troupe/contracts';
import { sharedUnitOfWork, type RunUnitOfWork } from '@troupe/messaging';
import type { UnitOfWork } from '@troupe/messaging/domain';
import { HttpError } from '@troupe/platform';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Pool } from 'pg';
import { getOrder, latestOrders } from '../db/orders';
import type { OrderStore } from '../domain/order-store';
import { placeOrder } from '../domain/place-order';
import type { OrderMetrics } from '../metrics';
import { admission } from './admission';
import { asHttpError } from './errors';
import { once, type Answer, type StoredResponse } from './idempotency';
import { idempotencyKeyOf, parseListQuery, parseOrderRequest } from './order-request';

export interface OrderRoutesDeps {
  pool: Pool;
  orders: OrderStore;
  runUnitOfWork: RunUnitOfWork;
  metrics: OrderMetrics;
  idempotencyTtlSeconds: number;
  /** Bounds on POST /orders under overload (docs/configuration.md). */
  admission: { maxInFlight: number; maxWaitMs: number };
  /**
   * The transactions POST /orders requests share (docs/decisions/0020): in flight at most, when
   * another starts beside them (see `BatchQueue` in @troupe/messaging), and requests in one at most.
   */
  transactions: { concurrency: number; spreadAfterMs: number; maxBatch: number };
  /**
   * Lets an operator's request through to GET /orders (every customer's latest orders); unset, no
   * list is served (docs/decisions/0029).
   */
  operatorGuard: RequestHandler | undefined;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Serves the order routes; `close` (after the HTTP server has stopped) refuses what still waits and lets the rest finish. */
export function orderRoutes(app: Express, deps: OrderRoutesDeps): { close: () => Promise<void> } {
  const { metrics, runUnitOfWork, idempotencyTtlSeconds } = deps;
  const admit = admission({ ...deps.admission, onShed: metrics.requestShed, onAdmitted: metrics.requestAdmitted });
  // Orders placed while a transaction runs share the next one (docs/decisions/0020).
  const placing = sharedUnitOfWork(runUnitOfWork, {
    ...deps.transactions,
    maxBatch: Math.min(deps.transactions.maxBatch, deps.admission.maxInFlight),
    onTransaction: metrics.sharedTransaction,
  });

  /** Places the order in the unit of work `uow`: 202 and the order, counted once committed. */
  const accept = async (uow: UnitOfWork, request: OrderRequest, traceId: string | undefined): Promise<StoredResponse> => {
    const order = await placeOrder(uow, deps.orders, request, traceId).catch((error: unknown) => Promise.reject(asHttpError(error)));
    uow.onCommit(metrics.orderPlaced);
    return { statusCode: 202, body: order };
  };

  app.post('/orders', admit, async (req: Request, res: Response) => {
    const request = parseOrderRequest(req.body);
    const key = idempotencyKeyOf(req);
    const traceId = currentTraceId();
    const answer = await placing.run(key, (uow) => once(uow.db, key, request, idempotencyTtlSeconds, () => accept(uow, request, traceId)));
    reply(res, answer);
  });

  if (deps.operatorGuard) {
    app.get('/orders', deps.operatorGuard, async (req: Request, res: Response) => {
      res.json({ orders: await latestOrders(deps.pool, parseListQuery(req.query).limit) } satisfies OrderList);
    });
  }

  app.get('/orders/:id', async (req: Request<{ id: string }>, res: Response) => {
    const id = req.params.id;
    if (UUID.test(id)) res.locals.orderId = id;
    const order = UUID.test(id) ? await getOrder(deps.pool, id) : undefined;
    if (!order) throw new HttpError(404, `no order ${id.slice(0, 64)}`);
    res.json(order satisfies OrderView);
  });

  return { close: () => placing.close() };
}

/** The order's place (Location), whether it is a replay, and the body. */
function reply(res: Response, answer: Answer): void {
  const body = answer.body as { orderId?: string };
  if (body.orderId) {
    res.locals.orderId = body.orderId;
    res.location(`/orders/${body.orderId}`);
  }
  if (answer.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(answer.statusCode).json(answer.body);
}

function currentTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context && trace.isSpanContextValid(context) ? context.traceId : undefined;
}
