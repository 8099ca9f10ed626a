import { gatewayChargeRequestSchema, gatewayLedgerQuerySchema, gatewayRefundRequestSchema, idempotencyKeySchema } from '@troupe/contracts';
import { HttpError, validationError } from '@troupe/platform';
import type { Express, Request, RequestHandler, Response } from 'express';
import type { Pool } from 'pg';
import type { z } from 'zod';
import { ledgerOf, underLocks } from '../db/ledger';
import { charge, IdempotencyConflict, refund, RefundRefused, type LedgerAnswer } from '../domain/ledger';
import type { GatewayFaults } from '../faults';

/** How long a caller should wait before trying again after a 503. */
const RETRY_AFTER_SECONDS = 1;

/**
 * POST /charges and POST /refunds, each under the caller's `Idempotency-Key` (required, as card
 * APIs require one for anything that moves money here), and GET /ledger?orderId=: the merchant's
 * record, an operator's view behind `ledgerGuard` (none: no ledger route; docs/decisions/0029).
 */
export function gatewayRoutes(app: Express, pool: Pool, faults: GatewayFaults, ledgerGuard: RequestHandler | undefined): void {
  const locks = underLocks(pool);

  app.post('/charges', async (req, res) => {
    const [key, body] = [idempotencyKeyOf(req), parsed(gatewayChargeRequestSchema, req.body)];
    res.locals.orderId = body.orderId;
    if (await faulted(res, faults)) return;
    answer(res, await moneyMoving(() => charge(locks, key, body)));
  });

  app.post('/refunds', async (req, res) => {
    const [key, body] = [idempotencyKeyOf(req), parsed(gatewayRefundRequestSchema, req.body)];
    res.locals.orderId = body.orderId;
    if (await faulted(res, faults)) return;
    answer(res, await moneyMoving(() => refund(locks, key, body)));
  });

  if (ledgerGuard) {
    app.get('/ledger', ledgerGuard, async (req, res) => {
      const { orderId } = parsed(gatewayLedgerQuerySchema, req.query);
      res.json({ entries: await ledgerOf(pool, orderId) });
    });
  }
}

function idempotencyKeyOf(req: Request): string {
  const key = idempotencyKeySchema.safeParse(req.get('Idempotency-Key'));
  if (key.success) return key.data;
  const message = req.get('Idempotency-Key') === undefined ? 'required' : key.error.issues[0]?.message ?? 'invalid';
  throw new HttpError(400, `invalid request: Idempotency-Key: ${message}`, [{ field: 'Idempotency-Key', message }]);
}

function parsed<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input ?? {});
  if (!result.success) throw validationError(result.error);
  return result.data;
}

/** The fault switches: a delay, then (sometimes) a 503 before anything is charged. */
async function faulted(res: Response, faults: GatewayFaults): Promise<boolean> {
  await faults.delay('gatewayLatencyMs');
  if (!faults.strikes('gatewayFailureRate')) return false;
  unavailable(res, 'gateway unavailable (fault switch gatewayFailureRate)');
  return true;
}

async function moneyMoving(work: () => Promise<LedgerAnswer>): Promise<LedgerAnswer> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof IdempotencyConflict || error instanceof RefundRefused) throw new HttpError(422, error.message);
    throw error;
  }
}

function answer(res: Response, outcome: LedgerAnswer): void {
  if (outcome.kind === 'transient') return unavailable(res, outcome.message);
  // A replay answers exactly as the first request was answered, and says it is one.
  if (outcome.replayed) res.set('Idempotent-Replayed', 'true');
  res.status(201).json(outcome.entry);
}

function unavailable(res: Response, message: string): void {
  res.status(503).set('Retry-After', String(RETRY_AFTER_SECONDS)).json({ error: message });
}
