/** How a consumer retries a handler that failed with a transient error. */
export interface RetryPolicy {
  /** Attempts in all, the first delivery included; after the last, the message is dead-lettered. */
  maxAttempts: number;
  /** Wait before the second attempt; each later wait doubles. */
  baseDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxAttempts: 5, baseDelayMs: 1000 };

/** The wait before attempt `attempt + 1`, for each attempt that can still fail over: base·2^(n-1). */
export function retryDelays(policy: RetryPolicy): number[] {
  return Array.from({ length: Math.max(0, policy.maxAttempts - 1) }, (_, i) => policy.baseDelayMs * 2 ** i);
}

/**
 * Full delay minus up to 20% jitter, so retries of messages that failed together spread out.
 * Jitter only ever shortens the wait: the wait queue's own TTL is the upper bound, so a message
 * never sits behind a longer-lived one for more than that 20%.
 */
export function jitteredDelay(delayMs: number, random: () => number = Math.random): number {
  return Math.max(1, Math.round(delayMs * (1 - 0.2 * random())));
}

/** Wait queues are named after their delay, so changing the policy adds queues instead of
 * redeclaring one with different arguments (which RabbitMQ refuses with a 406). */
export const waitQueueName = (queue: string, delayMs: number): string => `${queue}.retry.${delayMs}ms`;
