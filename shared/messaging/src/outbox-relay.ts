import { Gauge, type Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from './errors';
import type { MessagingMetrics } from './metrics';
import type { StagedEvent } from './outbox';
import type { ConfirmPublisher } from './publisher';
import { ROOT_CONTEXT } from '@opentelemetry/api';
import { context, contextFromHeaders, endSpan, startPublishSpan, type TraceHeaders } from './tracing';
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
  /**
   * While events are published straight after their commit, the safety-net poll only takes rows
   * at least this old: younger ones are still on their way out through the process that wrote them.
   */
  sweepAfterMs?: number;
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
// still leave in the order they were written. Which rows: this process's own deferred events ($4)
// at once, anyone else's only once they are $2 ms old (their writer is still publishing them, or
// crashed), and never one this process is publishing itself right now ($3).
const CLAIM = `
  SELECT o.id, o.event_id, o.exchange, o.type, o.order_id, o.body, o.headers
    FROM troupe_outbox o
   WHERE NOT EXISTS (SELECT 1 FROM troupe_outbox e WHERE e.order_id = o.order_id AND e.id < o.id)
     AND (o.created_at <= now() - make_interval(secs => $2::float8 / 1000) OR o.event_id = ANY($4::uuid[]))
     AND NOT (o.event_id = ANY($3::uuid[]))
   ORDER BY o.id
   LIMIT $1
     FOR UPDATE SKIP LOCKED`;

/** What one publish needs, from a claimed row or straight from a commit. */
interface OutgoingEvent {
  eventId: string;
  exchange: string;
  type: string;
  orderId: string;
  body: string;
  headers: TraceHeaders;
}

const fromRow = (row: OutboxRow): OutgoingEvent => ({
  eventId: row.event_id,
  exchange: row.exchange,
  type: row.type,
  orderId: row.order_id,
  body: row.body,
  headers: row.headers,
});

/**
 * The outbox relay: publishes committed outbox rows with publisher confirms and deletes each row
 * only after its confirm. A crash at any point leaves the row to be published again (at least
 * once; consumers' inboxes make that harmless).
 *
 * Two paths, one table:
 * - **Direct** (the fast path, while all is well): the transaction that wrote the rows hands its
 *   events over right after COMMIT (`dispatch`); they are published at once from memory, and the
 *   confirmed rows are deleted in one statement shared by every batch confirmed meanwhile. No
 *   claim query, no transaction of the relay's own: the database sees one DELETE per burst.
 * - **Claiming**: the loop claims rows with `FOR UPDATE SKIP LOCKED`, publishes them, and deletes
 *   them in the claiming transaction. It takes this process's *deferred* events at once: those
 *   whose direct publish failed, and every event committed while any is deferred, while the
 *   broker is away, or before the first claim after start. Once none is left, commits go direct
 *   again. It also takes, once a second, any row at least `sweepAfterMs` old: rows a process
 *   left when it crashed between its commit and its confirm. Younger rows of other processes
 *   are theirs to publish, so replicas do not send each other's events twice.
 *
 * An order's events still leave in the order they were written: the direct path publishes a
 * commit's events in order, a failure defers everything after it, and a claim never publishes an
 * event while an earlier one of its order is unsent.
 */
export class OutboxRelay {
  private readonly batchSize: number;
  private readonly pollIntervalMs: number;
  private readonly maxBackoffMs: number;
  private readonly sweepAfterMs: number;
  /** The first claim after start has run: leftovers are out of the way of new events. */
  private started = false;
  /** Event ids this process left to the claiming path (see the class comment). */
  private readonly deferred = new Set<string>();
  /** Event ids this process is publishing or deleting on the direct path: the claim skips them. */
  private readonly mine = new Set<string>();
  private confirmedIds: string[] = [];
  private deleting: Promise<void> | undefined;
  private readonly inFlight = new Set<Promise<void>>();
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private backingOff = false;

  constructor(private readonly options: OutboxRelayOptions) {
    this.batchSize = options.batchSize ?? 200;
    this.pollIntervalMs = options.pollIntervalMs ?? 1000;
    this.maxBackoffMs = options.maxBackoffMs ?? 5000;
    this.sweepAfterMs = options.sweepAfterMs ?? 5000;
    this.registerGauges(options.registry);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Called right after a commit that wrote `events` to the outbox: publish them now. */
  dispatch(events: readonly StagedEvent[]): void {
    if (events.length === 0) return;
    if (!this.started || this.deferred.size > 0 || !this.running || !this.options.publisher.ready) {
      // Not now: the claiming path takes them (in order, after anything older of their orders).
      for (const event of events) this.deferred.add(event.id);
      this.wake();
      return;
    }
    for (const event of events) this.mine.add(event.id);
    const work = this.publishDirect(events.map((e) => ({ ...e, eventId: e.id })));
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Rows may be waiting (committed elsewhere, or left behind): look now rather than at the next poll. */
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
    await Promise.all(this.inFlight);
    while (this.deleting) await this.deleting;
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
        if (published === 0 && this.deferred.size > 0) await this.forgetGone();
        failures = 0;
        this.started = true;
      } catch (error) {
        failures += 1;
        const level = failures === 1 ? 'warn' : 'debug';
        this.options.logger[level]({ err: errorMessage(error), failures }, 'outbox relay could not publish; backing off');
      }
      if (!this.running) break;
      if (failures === 0 && (published > 0 || (this.pendingWake && this.deferred.size > 0))) continue;
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

  /** The direct path: publish from memory, then queue the confirmed rows for deletion. */
  private async publishDirect(events: OutgoingEvent[]): Promise<void> {
    const results = await Promise.allSettled(events.map((event) => this.publishEvent(event)));
    const failed = events.filter((_, i) => results[i]?.status === 'rejected');
    for (const [i, event] of events.entries()) {
      if (results[i]?.status === 'fulfilled') {
        this.options.metrics.published.inc({ exchange: event.exchange, type: event.type });
        this.confirmedIds.push(event.eventId);
      }
    }
    if (failed.length > 0) {
      // Their rows stay; the claiming path publishes them, and everything after them, in order.
      for (const event of failed) {
        this.mine.delete(event.eventId);
        this.deferred.add(event.eventId);
      }
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      this.options.logger.warn({ err: errorMessage(rejected?.reason), events: failed.length }, 'direct publish failed; the relay takes over');
      this.wake();
    }
    this.scheduleDelete();
  }

  private scheduleDelete(): void {
    if (this.deleting || this.confirmedIds.length === 0) return;
    // The DELETE serves every order confirmed meanwhile: it belongs to no one message's trace.
    this.deleting = context.with(ROOT_CONTEXT, () => this.deleteConfirmed()).finally(() => {
      this.deleting = undefined;
      this.scheduleDelete(); // rows confirmed while the last DELETE ran
    });
  }

  /** One DELETE for every row confirmed since the last one. */
  private async deleteConfirmed(): Promise<void> {
    while (this.confirmedIds.length > 0) {
      const ids = this.confirmedIds;
      this.confirmedIds = [];
      try {
        // Asynchronous commit: this transaction does not wait for its WAL flush (an fsync that
        // the next hop's COMMIT would otherwise queue behind). If the database crashes before
        // the flush, the rows come back and are published again: duplicates, which the inboxes
        // absorb, never a loss. Everything else commits synchronously.
        await withTransaction(this.options.pool, async (db) => {
          void db.query('SET LOCAL synchronous_commit TO off').catch(() => undefined);
          await db.query({
            name: 'troupe-outbox-delete-sent',
            text: 'DELETE FROM troupe_outbox WHERE event_id = ANY($1::uuid[])',
            values: [ids],
          });
        });
      } catch (error) {
        // The rows stay and are published again by the sweep: at least once, never lost.
        this.options.logger.warn({ err: errorMessage(error), rows: ids.length }, 'could not delete published outbox rows');
      }
      for (const id of ids) this.mine.delete(id);
    }
  }

  /**
   * Deferred ids whose rows are gone (another process's sweep published them): nothing left to
   * wait for.
   */
  private async forgetGone(): Promise<void> {
    const { rows } = await this.options.pool.query<{ event_id: string }>(
      'SELECT event_id FROM troupe_outbox WHERE event_id = ANY($1::uuid[])',
      [[...this.deferred]],
    );
    const present = new Set(rows.map((r) => r.event_id));
    for (const id of this.deferred) if (!present.has(id)) this.deferred.delete(id);
  }

  /** One transaction: claim, publish all, await every confirm, delete the confirmed rows. */
  private async publishBatch(): Promise<number> {
    const { pool, metrics } = this.options;
    const { sent, failure } = await withTransaction(pool, async (db) => {
      const { rows } = await db.query<OutboxRow>(CLAIM, [this.batchSize, this.sweepAfterMs, [...this.mine], [...this.deferred]]);
      const results = await Promise.allSettled(rows.map((row) => this.publishEvent(fromRow(row))));
      const confirmed = rows.filter((_, i) => results[i]?.status === 'fulfilled');
      if (confirmed.length > 0) await db.query('DELETE FROM troupe_outbox WHERE id = ANY($1::bigint[])', [confirmed.map((r) => r.id)]);
      // The confirmed rows are deleted (committed) even when others failed; those stay for later.
      const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      return { sent: confirmed, failure: rejected?.reason as unknown };
    });
    for (const row of sent) {
      metrics.published.inc({ exchange: row.exchange, type: row.type });
      this.deferred.delete(row.event_id);
    }
    if (failure !== undefined) throw failure;
    return sent.length;
  }

  private async publishEvent(event: OutgoingEvent): Promise<void> {
    // The span belongs to the trace of the request or message that wrote the row.
    const { span, headers } = startPublishSpan(
      contextFromHeaders(event.headers),
      event.exchange,
      event.eventId,
      event.type,
      event.orderId,
    );
    try {
      await this.options.publisher.publish(event.exchange, '', Buffer.from(event.body), {
        persistent: true,
        contentType: 'application/json',
        messageId: event.eventId,
        type: event.type,
        timestamp: Math.floor(Date.now() / 1000),
        headers: { ...event.headers, ...headers },
      });
      endSpan(span);
    } catch (error) {
      this.options.metrics.publishFailures.inc({ exchange: event.exchange });
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
