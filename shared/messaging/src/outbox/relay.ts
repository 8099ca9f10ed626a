import type { Registry } from 'prom-client';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import type { MessagingMetrics } from '../metrics';
import { OutboxClaimer } from './claimer';
import { SentRowDeleter } from './deleter';
import type { OutboxEvent } from './event';
import { OutboxLedger } from './ledger';
import { countPublished, publishEvents } from './publish';
import { registerOutboxGauges } from './table';
import type { ConfirmPublisher } from '../broker/publisher';

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

/**
 * The outbox relay: publishes committed outbox events with publisher confirms and deletes each
 * row only after its confirm. A crash at any point leaves the row to be published again (at least
 * once; consumers' inboxes make that harmless).
 *
 * Two ways out, one table, one event shape (`OutboxEvent`):
 * - **Direct** (while all is well): the unit of work hands its events over right after COMMIT
 *   (`dispatch`); they are published at once from memory, and the confirmed rows are deleted in
 *   one statement shared by every batch confirmed meanwhile (`SentRowDeleter`).
 * - **Claiming** (`OutboxClaimer`): takes this process's *deferred* events (those whose direct
 *   publish failed, and every event committed while any is deferred, while the broker is away, or
 *   before the first claim after start), and rows other processes left behind. Once none is
 *   deferred, commits go direct again.
 *
 * An order's events still leave in the order they were written: the direct path publishes a
 * commit's events in order, a failure defers everything after it, and a claim never publishes an
 * event while an earlier one of its order is unsent.
 */
export class OutboxRelay {
  private readonly ledger = new OutboxLedger();
  private readonly claimer: OutboxClaimer;
  private readonly deleter: SentRowDeleter;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: OutboxRelayOptions) {
    this.claimer = new OutboxClaimer({
      pool: options.pool,
      publisher: options.publisher,
      ledger: this.ledger,
      logger: options.logger,
      metrics: options.metrics,
      batchSize: options.batchSize ?? 200,
      pollIntervalMs: options.pollIntervalMs ?? 1000,
      maxBackoffMs: options.maxBackoffMs ?? 5000,
      sweepAfterMs: options.sweepAfterMs ?? 5000,
    });
    this.deleter = new SentRowDeleter(options.pool, options.logger, this.ledger);
    registerOutboxGauges(options.registry, options.pool);
  }

  start(): void {
    this.claimer.start();
  }

  /** Called right after a commit that wrote `events` to the outbox: publish them now. */
  dispatch(events: readonly OutboxEvent[]): void {
    if (events.length === 0) return;
    const { ledger } = this;
    if (!ledger.directOpen || !this.claimer.isRunning || !this.options.publisher.ready) {
      // Not now: the claim takes them (in order, after anything older of their orders).
      ledger.defer(events.map((e) => e.id));
      this.claimer.wake();
      return;
    }
    ledger.publishingDirect(events.map((e) => e.id));
    const work = this.publishDirect(events);
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work));
  }

  /** Called when the broker (or the database) is back: end any backoff at once. */
  resume(): void {
    this.claimer.resume();
  }

  async stop(): Promise<void> {
    await this.claimer.stop();
    await Promise.all(this.inFlight);
    await this.deleter.idle();
  }

  /** The direct way: publish from memory, then hand the confirmed ones to the deleter. */
  private async publishDirect(events: readonly OutboxEvent[]): Promise<void> {
    const { confirmed, failed, error } = await publishEvents(this.options.publisher, this.options.metrics, events);
    countPublished(this.options.metrics, confirmed);
    if (failed.length > 0) {
      // Their rows stay; the claim publishes them, and everything after them, in order.
      this.ledger.defer(failed.map((e) => e.id));
      this.options.logger.warn({ err: errorMessage(error), events: failed.length }, 'direct publish failed; the relay takes over');
      this.claimer.wake();
    }
    this.deleter.add(confirmed.map((e) => e.id));
  }
}
