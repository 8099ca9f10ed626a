import { z } from 'zod';

/** POST /orders body (DESIGN.md "HTTP API"). Unknown fields are rejected, not ignored. */
export const orderRequestSchema = z.strictObject({
  customerId: z.string().trim().min(1).max(200),
  email: z.email().max(320),
  items: z
    .array(
      z.strictObject({
        sku: z.string().regex(/^[A-Z0-9][A-Z0-9-]{0,63}$/, 'must be a SKU such as SKU-TSHIRT'),
        quantity: z.int().min(1).max(1000),
      }),
    )
    .min(1)
    .max(100),
  paymentMethod: z.strictObject({ token: z.string().min(1).max(200) }),
});

export type OrderRequest = z.infer<typeof orderRequestSchema>;

/** Idempotency-Key: an opaque client-chosen string, printable ASCII. */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters');

/** GET /orders query: how many of the latest orders (newest first). */
export const listQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(100).default(20),
});
