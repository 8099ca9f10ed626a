import { z } from 'zod';
import { textSchema } from './events';

/**
 * The card gateway's HTTP API (services/gateway, :3004): charges and refunds, each under the
 * caller's `Idempotency-Key`, and the ledger they leave. The payment service calls it; the web
 * front and the tests read the ledger.
 */

// Up to what a Postgres integer holds: every order total troupe accepts fits (100 lines of 1,000).
const amountCents = z.int().min(1).max(2_147_483_647);
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code like USD');
const reference = (what: string) => z.string().regex(/^[\x21-\x7e]{1,100}$/, `must be ${what}: 1-100 printable ASCII characters`);

/** POST /charges body (with an `Idempotency-Key` header). */
export const gatewayChargeRequestSchema = z.strictObject({
  orderId: reference('the order it pays for'),
  amountCents,
  currency,
  // What an order accepts as a token: an unknown one is declined, never refused as a bad request.
  token: textSchema(1, 200),
});
export type GatewayChargeRequest = z.infer<typeof gatewayChargeRequestSchema>;

/** POST /refunds body (with an `Idempotency-Key` header of its own): gives back part or all of the order's approved charge. */
export const gatewayRefundRequestSchema = z.strictObject({
  orderId: reference('the order whose charge it refunds'),
  amountCents,
  currency,
});
export type GatewayRefundRequest = z.infer<typeof gatewayRefundRequestSchema>;

/** GET /ledger query. */
export const gatewayLedgerQuerySchema = z.object({ orderId: reference('an order id') });

/** One entry of the ledger: a charge (approved or declined) or a refund. Transient failures leave none. */
export const gatewayEntrySchema = z.object({
  id: z.uuid(),
  kind: z.enum(['charge', 'refund']),
  idempotencyKey: z.string(),
  orderId: z.string(),
  amountCents: z.int(),
  currency: z.string(),
  outcome: z.enum(['approved', 'declined', 'refunded']),
  declineReason: z.string().nullable().meta({ description: 'Why a charge was declined; null otherwise' }),
  createdAt: z.iso.datetime(),
});
export type GatewayEntry = z.infer<typeof gatewayEntrySchema>;

/** GET /ledger?orderId=: every charge and refund for the order, oldest first. */
export const gatewayLedgerSchema = z.object({ entries: z.array(gatewayEntrySchema) });
export type GatewayLedger = z.infer<typeof gatewayLedgerSchema>;
