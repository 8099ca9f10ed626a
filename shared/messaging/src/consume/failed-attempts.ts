import type { Pool } from 'pg';

/** One failed attempt at a message, as the consumer moved it on. */
export interface FailedAttempt {
  /** The queue it failed on. */
  queue: string;
  eventId: string;
  eventType: string;
  orderId: string;
  /** Replays from the dead-letter queue before this attempt (0: none). */
  replay: number;
  attempt: number;
  outcome: 'retried' | 'dead-lettered';
  /** Retried: the backoff before the next attempt (before jitter). */
  retryDelayMs?: number;
  /** Dead-lettered: why (`exhausted`, `permanent`). */
  deadLetterReason?: string;
  /** The error's class (`TransientGatewayError`): says what kind of failure without its details. */
  errorName: string;
  /** The error's message, which may hold anything the failing code put in it. */
  error: string;
  failedAt: string;
}

/**
 * The record of an order's failed attempts, in the service's own database (the broker forgets a
 * failure once the retry succeeds). Written outside the handler's transaction, which has rolled
 * back by then; a record that cannot be written is logged by the caller and the message goes on.
 */
export class FailedAttempts {
  constructor(private readonly pool: Pool) {}

  async record(attempt: Omit<FailedAttempt, 'failedAt'>): Promise<void> {
    await this.pool.query({
      name: 'troupe-failed-attempt-insert',
      text: `INSERT INTO troupe_failed_attempts
               (consumer, event_id, replay, attempt, order_id, event_type, outcome, retry_delay_ms, dead_letter_reason, error_name, error)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
             ON CONFLICT DO NOTHING`,
      values: [
        attempt.queue,
        attempt.eventId,
        attempt.replay,
        attempt.attempt,
        attempt.orderId,
        attempt.eventType,
        attempt.outcome,
        attempt.retryDelayMs ?? null,
        attempt.deadLetterReason ?? null,
        attempt.errorName,
        attempt.error,
      ],
    });
  }

  /** An order's failed attempts, oldest first. */
  async of(orderId: string): Promise<FailedAttempt[]> {
    const { rows } = await this.pool.query<{
      consumer: string;
      event_id: string;
      event_type: string;
      order_id: string;
      replay: number;
      attempt: number;
      outcome: FailedAttempt['outcome'];
      retry_delay_ms: number | null;
      dead_letter_reason: string | null;
      error_name: string;
      error: string;
      failed_at: Date;
    }>({
      name: 'troupe-failed-attempts-of-order',
      text: `SELECT consumer, event_id, event_type, order_id, replay, attempt, outcome, retry_delay_ms, dead_letter_reason, error_name, error, failed_at
               FROM troupe_failed_attempts WHERE order_id = $1 ORDER BY failed_at, replay, attempt LIMIT 1000`,
      values: [orderId],
    });
    return rows.map((r) => ({
      queue: r.consumer,
      eventId: r.event_id,
      eventType: r.event_type,
      orderId: r.order_id,
      replay: r.replay,
      attempt: r.attempt,
      outcome: r.outcome,
      ...(r.retry_delay_ms === null ? {} : { retryDelayMs: r.retry_delay_ms }),
      ...(r.dead_letter_reason === null ? {} : { deadLetterReason: r.dead_letter_reason }),
      errorName: r.error_name,
      error: r.error,
      failedAt: r.failed_at.toISOString(),
    }));
  }
}
