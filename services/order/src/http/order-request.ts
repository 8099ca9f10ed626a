import { idempotencyKeySchema, orderListQuerySchema, orderRequestSchema, type OrderRequest } from '@troupe/contracts';
import { HttpError, validationError } from '@troupe/platform';
import type { Request } from 'express';

// What the routes take from a request, validated against the contracts (@troupe/contracts, from
// which the OpenAPI document is generated): 400 naming the field otherwise.

export function parseOrderRequest(body: unknown): OrderRequest {
  const parsed = orderRequestSchema.safeParse(body);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

export function parseListQuery(query: unknown): { limit: number } {
  const parsed = orderListQuerySchema.safeParse(query);
  if (!parsed.success) throw validationError(parsed.error);
  return parsed.data;
}

/** The `Idempotency-Key` header, if the client sent one. */
export function idempotencyKeyOf(req: Request): string | undefined {
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
