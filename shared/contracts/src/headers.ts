/**
 * AMQP headers a message may carry besides the W3C trace context (`traceparent`, `tracestate`):
 * the ones the messaging library adds to retried, dead-lettered and replayed messages.
 */
export const HEADER = {
  attempt: 'x-troupe-attempt',
  error: 'x-troupe-error',
  errorName: 'x-troupe-error-name',
  deadLetterReason: 'x-troupe-dead-letter-reason',
  firstFailureAt: 'x-troupe-first-failure-at',
  lastFailureAt: 'x-troupe-last-failure-at',
  originalExchange: 'x-troupe-original-exchange',
  originalQueue: 'x-troupe-original-queue',
  replayCount: 'x-troupe-replay-count',
  replayedAt: 'x-troupe-replayed-at',
  handBacks: 'x-troupe-hand-backs',
} as const;

/** What each header means, for the published AsyncAPI document. */
export const HEADER_DESCRIPTIONS: Record<keyof typeof HEADER, { description: string; type: 'integer' | 'string' }> = {
  attempt: { type: 'integer', description: 'Delivery attempt this copy is (2 on the first retry)' },
  error: { type: 'string', description: 'The last handler error, truncated' },
  errorName: { type: 'string', description: "The name (class) of the handler's error, on a dead-lettered message whose handler threw" },
  deadLetterReason: { type: 'string', description: 'Why it was dead-lettered: poison, permanent or exhausted' },
  firstFailureAt: { type: 'string', description: 'When handling first failed (ISO 8601)' },
  lastFailureAt: { type: 'string', description: 'When handling last failed (ISO 8601)' },
  originalExchange: { type: 'string', description: 'The exchange the message was first published to' },
  originalQueue: { type: 'string', description: 'The queue it failed on (a replay goes back there)' },
  replayCount: { type: 'integer', description: 'How many times it was replayed from a dead-letter queue' },
  replayedAt: { type: 'string', description: 'When it was last replayed (ISO 8601)' },
  handBacks: { type: 'integer', description: 'How many times it was tried and handed back to its queue because a dependency was away (no attempt spent)' },
};
