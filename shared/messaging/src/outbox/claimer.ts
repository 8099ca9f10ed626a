import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import type { MessagingMetrics } from '../metrics';
import type { OutboxLedger } from './ledger';
import { countPublished, publishEvents } from './publish';
import { claimOutboxRows, deleteOutboxRows, outboxRowsPresent } from './table';
import type { ConfirmPublisher } from '../broker/publisher';
import { withTransaction } from '../transaction';

export interface OutboxClaimerOptions {
  pool: Pool;
  publisher: ConfirmPublisher;
  ledger: OutboxLedger;
  logger: Logger;
  metrics: MessagingMetrics;
  /** Rows claimed per transaction. */
  batchSize: number;
  /** Safety net for rows no wake-up announced: poll this often. */
  pollIntervalMs: number;
  /** Longest pause between attempts while the broker or the database is away. */
  maxBackoffMs: number;
  /** Other processes' rows are taken only this old (younger ones are still on their way out). */
  sweepAfterMs: number;
}

/**
 * The claiming way out: a loop that claims rows with `FOR UPDATE SKIP LOCKED`, publishes them
 * with confirms and deletes them in the claiming transaction. It takes this process's deferred
 * events at once (see `OutboxLedger`) and, once a poll, any row at least `sweepAfterMs` old: rows a
 * process left when it crashed between its commit and its confirm. It backs off while the broker
 * or the database is away.
 */
export class OutboxClaimer {
  private running = false;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private pendingWake = false;
  private backingOff = false;

  constructor(private readonly options: OutboxClaimerOptions) {}

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Rows may be waiting: look now rather than at the next poll (unless backing off). */
  wake(): void {
    this.pendingWake = true;
    if (!this.backingOff) this.wakeUp?.();
  }

  /** The broker or the database is back: end any backoff at once. */
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
    const { publisher, ledger, logger, maxBackoffMs, pollIntervalMs } = this.options;
    let failures = 0;
    while (this.running) {
      if (!publisher.ready) {
        // Nothing can be published until the broker is back; resume() wakes us then.
        this.backingOff = true;
        await this.sleep(maxBackoffMs);
        this.backingOff = false;
        continue;
      }
      this.pendingWake = false;
      let published = 0;
      try {
        published = await this.claimAndPublish();
        if (published === 0 && ledger.hasDeferred) await this.forgetGone();
        failures = 0;
        ledger.claimRan();
      } catch (error) {
        failures += 1;
        const level = failures === 1 ? 'warn' : 'debug';
        logger[level]({ err: errorMessage(error), failures }, 'outbox relay could not publish; backing off');
      }
      if (!this.running) break;
      if (failures === 0 && (published > 0 || (this.pendingWake && ledger.hasDeferred))) continue;
      // While the broker or database is away, commits do not cut the backoff short.
      this.backingOff = failures > 0;
      await this.sleep(failures > 0 ? Math.min(maxBackoffMs, 50 * 2 ** Math.min(failures, 10)) : pollIntervalMs);
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
  private async claimAndPublish(): Promise<number> {
    const { pool, publisher, ledger, metrics, batchSize, sweepAfterMs } = this.options;
    const { confirmed, error } = await withTransaction(pool, async (db) => {
      const claimed = await claimOutboxRows(db, { limit: batchSize, sweepAfterMs, ...ledger.claimFilter() });
      const published = await publishEvents(publisher, metrics, claimed);
      // The confirmed rows are deleted (committed) even when others failed; those stay for later.
      if (published.confirmed.length > 0) await deleteOutboxRows(db, published.confirmed.map((e) => e.id));
      return published;
    });
    countPublished(metrics, confirmed);
    ledger.sentByClaim(confirmed.map((e) => e.id));
    if (error !== undefined) throw error;
    return confirmed.length;
  }

  /** Deferred ids whose rows are gone (another process's sweep published them): nothing left to wait for. */
  private async forgetGone(): Promise<void> {
    const { ledger } = this.options;
    const present = await outboxRowsPresent(this.options.pool, ledger.deferredIds());
    ledger.sentByClaim(ledger.deferredIds().filter((id) => !present.has(id)));
  }
}
