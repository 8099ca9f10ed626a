import { Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from './errors';
import type { MessagingMetrics } from './metrics';
import type { ConfirmPublisher } from './publisher';
import { contextFromHeaders, endSpan, startPublishSpan, type TraceHeaders } from './tracing';
import { withTransaction } from './transaction';

export interface OutboxRelayOptions {
  pool: Pool;
  publisher: ConfirmPublisher;
  logger: Logger;
  metrics: MessagingMetrics;
  registry: Registry;
  /** Rows claimed per transaction. */
  batchSize?: number;
  /** Safety net for rows no wake-up announced (another replica crashed mid-batch): poll this often. */
  pollIntervalMs?: number;
  /** Longest pause between attempts while the broker is away. */
  maxBackoffMs?: number;
}

interface OutboxRow {
  id: string;
  event_id: string;
  exchange: string;
  type: string;
  order_id: string;
  body: string;
  headers: TraceHeaders;
}

// Claim the oldest unsent event of each order (never a later one while an earlier one is
// unsent), skipping rows another relay holds: replicas share the work and each order's events
// still leave in the order they were written.
const CLAIM = `
  SELECT o.id, o.event_id, o.exchange, o.type, o.order_id, o.body, o.headers
    FROM troupe_outbox o
   WHERE NOT EXISTS (SELECT 1 FROM troupe_outbox e WHERE e.order_id = o.order_id AND e.id < o.id)
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE SKIP LOCKED`;

/**
 * The outbox relay: publishes committed outbox rows with publisher confirms and deletes each row
 * only after its confirm, in the same transaction that claimed it. A crash at any point leaves
 * the row to be published again (at least once; consumers' inboxes make that harmless).
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private backingOff = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.registerGauges(options.registry);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called right after a commit that wrote outbox rows: publish now rather than at the next poll. */
  wake(): void {
    this.pendingWake = true;
    if (!this.backingOff) this.wakeUp?.();
  }

  /** Called when the broker is back: end any backoff at once. */
  resume(): void {
    this.backingOff = false;
    this.wake();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.wakeUp?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (this.running) {
      if (!this.options.publisher.ready) {
        // Nothing can be published until the broker is back; resume() wakes us then.
        this.backingOff = true;
        await this.sleep(this.maxBackoffMs);
        this.backingOff = false;
        continue;
      }
      this.pendingWake = false;
      let published = 0;
      try {
        published = await this.publishBatch();
        failures = 0;
      } catch (error) {
        failures += 1;
        const level = failures === 1 ? 'warn' : 'debug';
        this.options.logger[level]({ err: errorMessage(error), failures }, 'outbox relay could not publish; backing off');
      }
      if (!this.running) break;
      if (failures === 0 && (published > 0 || this.pendingWake)) continue;
      // While the broker or database is away, commits do not cut the backoff short.
      this.backingOff = failures > 0;
      await this.sleep(failures > 0 ? Math.min(this.maxBackoffMs, 50 * 2 ** Math.min(failures, 10)) : this.pollIntervalMs);
      this.backingOff = false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(finish, ms);
      this.wakeUp = finish;
    });
  }

  /** One transaction: claim, publish all, await every confirm, delete the confirmed rows. */
  private async publishBatch(): Promise<number> {
    const { pool, metrics } = this.options;
    const { sent, failure } = await withTransaction(pool, async (db) => {
      const { rows } = await db.query<OutboxRow>(CLAIM, [this.batchSize]);
      const results = await Promise.allSettled(rows.map((row) => this.publishRow(row)));
      const confirmed = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      if (confirmed.length > 0) await db.query('DELETE FROM troupe_outbox WHERE id = ANY($1::bigint[])', [confirmed.map((r) => r.id)]);
      // The confirmed rows are deleted (committed) even when others failed; those stay for later.
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      return { sent: confirmed, failure: rejected?.reason as unknown };
    });
    for (const row of sent) metrics.published.inc({ exchange: row.exchange, type: row.type });
    if (failure !== undefined) throw failure;
    return sent.length;
  }

  private async publishRow(row: OutboxRow): Promise<void> {
    // The span belongs to the trace of the request or message that wrote the row.
    const { span, headers } = startPublishSpan(
      contextFromHeaders(row.headers),
      row.exchange,
      row.event_id,
      row.type,
      row.order_id,
    );
    try {
      await this.options.publisher.publish(row.exchange, '', Buffer.from(row.body), {
        persistent: true,
        contentType: 'application/json',
        messageId: row.event_id,
        type: row.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { ...row.headers, ...headers },
      });
      endSpan(span);
    } catch (error) {
      endSpan(span, error);
      throw error;
    }
  }

  private registerGauges(registry: Registry): void {
    if (registry.getSingleMetric('troupe_outbox_pending_messages')) return;
    const pool = this.options.pool;
    const read = (sql: string) =>
      pool.query<{ value: number | null }>(sql).then(
        (r) => r.rows[0]?.value ?? 0,
        () => Number.NaN,
      );
    new Gauge({
      name: 'troupe_outbox_pending_messages',
      help: 'Events committed to the outbox and not yet confirmed by the broker.',
      registers: [registry],
      async collect() {
        this.set(await read('SELECT count(*)::float8 AS value FROM troupe_outbox'));
      },
    });
    new Gauge({
      name: 'troupe_outbox_oldest_age_seconds',
      help: 'Age of the oldest event still waiting in the outbox (0 when empty).',
      registers: [registry],
      async collect() {
        this.set(await read('SELECT extract(epoch FROM now() - min(created_at))::float8 AS value FROM troupe_outbox'));
      },
    });
  }
}
