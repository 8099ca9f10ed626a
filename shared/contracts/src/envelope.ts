import { z } from 'zod';

/**
 * The envelope every event travels in (docs/design.md "The envelope"). `id` is the deduplication key
 * for consumers' inboxes; `orderId` correlates the whole workflow.
 */
export const envelopeSchema = z.object({
  id: z.uuid(),
  type: z.string().min(1).max(100),
  version: z.int().min(1),
  occurredAt: z.iso.datetime({ offset: true }),
  orderId: z.uuid(),
  data: z.unknown(),
});

export type Envelope = z.infer<typeof envelopeSchema>;
