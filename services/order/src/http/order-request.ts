import { skuSchema, textSchema } from '@troupe/contracts';
import { z } from 'zod';

/** POST /orders body (docs/design.md "HTTP API"). Unknown fields are rejected, not ignored. */
export const orderRequestSchema = z.strictObject({
  customerId: textSchema(1, 200),
  email: z.email().max(320),
  items: z
    .array(
      z.strictObject({
        sku: skuSchema,
        quantity: z.int().min(1).max(1000),
      }),
    )
    .min(1)
    .max(100),
  paymentMethod: z.strictObject({ token: textSchema(1, 200) }),
});

export type OrderRequest = z.infer<typeof orderRequestSchema>;

/** Idempotency-Key: an opaque client-chosen string, printable ASCII. */
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'must be 1-255 printable ASCII characters');
