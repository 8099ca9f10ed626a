import { trace } from '@opentelemetry/api';
import type { Messaging } from '@troupe/messaging';
import { HttpError, validationError } from '@troupe/platform';
import type { Express, Request, Response } from 'express';
import type { Pool } from 'pg';
import { getOrder, latestOrders } from '../db/orders';
import { placeOrder, UnknownSkuError } from '../domain/place-order';
import type { OrderMetrics } from '../metrics';
import { admission } from './admission';
import { claimKey, fingerprint, storeResponse, type StoredResponse } from './idempotency';
import { idempotencyKeySchema, listQuerySchema, orderRequestSchema } from './order-request';

export interface OrderRoutesDeps {
  pool: Pool;
  messaging: Messaging;
  metrics: OrderMetrics;
  idempotencyTtlSeconds: number;
  /** Bounds on POST /orders under overload (README "Configuration"). */
  admission: { maxInFlight: number; maxWaitMs: number };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function orderRoutes(app: Express, deps: OrderRoutesDeps): void {
  const admit = admission({
    ...deps.admission,
    onShed: () => deps.metrics.shed.inc(),
    onAdmitted: (seconds) => deps.metrics.queueWait.observe(seconds),
  });
  app.post('/orders', admit, async (req: Request, res: Response) => {
    const parsed = orderRequestSchema.safeParse(req.body);
    if (!parsed.success) throw validationError(parsed.error);
    const key = idempotencyKey(req);
    const traceId = currentTraceId();

    const response = await deps.messaging.transaction(async (uow) => {
      if (key !== undefined) {
        const claim = await claimKey(uow.db, key, fingerprint(parsed.data));
        if (!claim.claimed) return { ...claim.stored, replayed: true };
      }
      const order = await placeOrder(uow, parsed.data, traceId).catch((error: unknown) => {
        if (error instanceof UnknownSkuError) {
          throw new HttpError(400, `invalid request: ${error.field}: ${error.message}`, [{ field: error.field, message: error.message }]);
        }
        throw error;
      });
      const created: StoredResponse = { statusCode: 202, body: order };
      if (key !== undefined) await storeResponse(uow.db, key, created, deps.idempotencyTtlSeconds);
      uow.onCommit(() => deps.metrics.placed.inc());
      return { ...created, replayed: false };
    });

    const body = response.body as { orderId?: string };
    if (body.orderId) {
      res.locals.orderId = body.orderId;
      res.location(`/orders/${body.orderId}`);
    }
    if (response.replayed) res.set('Idempotent-Replayed', 'true');
    res.status(response.statusCode).json(response.body);
  });

  app.get('/orders', async (req: Request, res: Response) => {
    const parsed = listQuerySchema.safeParse(req.query);
    if (!parsed.success) throw validationError(parsed.error);
    res.json({ orders: await latestOrders(deps.pool, parsed.data.limit) });
  });

  app.get('/orders/:id', async (req: Request<{ id: string }>, res: Response) => {
    const id = req.params.id;
    if (UUID.test(id)) res.locals.orderId = id;
    const order = UUID.test(id) ? await getOrder(deps.pool, id) : undefined;
    if (!order) throw new HttpError(404, `no order ${id.slice(0, 64)}`);
    res.json(order);
  });
}

function idempotencyKey(req: Request): string | undefined {
  const raw = req.get('Idempotency-Key');
  if (raw === undefined) return undefined;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) {
    throw new HttpError(400, 'invalid Idempotency-Key header: must be 1-255 printable ASCII characters', [
      { field: 'Idempotency-Key', message: parsed.error.issues[0]?.message ?? 'invalid' },
    ]);
  }
  return parsed.data;
}

function currentTraceId(): string | undefined {
  const context = trace.getActiveSpan()?.spanContext();
  return context && trace.isSpanContextValid(context) ? context.traceId : undefined;
}
