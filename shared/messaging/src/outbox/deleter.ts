import { ROOT_CONTEXT } from '@opentelemetry/api';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { errorMessage } from '../errors';
import { context } from '../tracing';
import { withTransaction } from '../transaction';
import type { OutboxLedger } from './ledger';
import { deleteOutboxRows } from './table';

/**
 * Deletes the rows of events confirmed on the direct path: one DELETE for every event confirmed
 * since the last one began, so the database sees one statement per burst.
 */
export class SentRowDeleter {
  private confirmed: string[] = [];
  private deleting: Promise<void> | undefined;

  constructor(
    private readonly pool: Pool,
    private readonly logger: Logger,
    /** Told once their DELETE is done (or failed: the sweep publishes them again). */
    private readonly ledger: Pick<OutboxLedger, 'directDone'>,
  ) {}

  add(ids: readonly string[]): void {
    this.confirmed.push(...ids);
    this.schedule();
  }

  /** Resolves when no DELETE is running or due. */
  async idle(): Promise<void> {
    while (this.deleting) await this.deleting;
  }

  private schedule(): void {
    if (this.deleting || this.confirmed.length === 0) return;
    // The DELETE serves every order confirmed meanwhile: it belongs to no one message's trace.
    this.deleting = context.with(ROOT_CONTEXT, () => this.deleteConfirmed()).finally(() => {
      this.deleting = undefined;
      this.schedule(); // rows confirmed while the last DELETE ran
    });
  }

  private async deleteConfirmed(): Promise<void> {
    while (this.confirmed.length > 0) {
      const ids = this.confirmed;
      this.confirmed = [];
      try {
        // Asynchronous commit: this transaction does not wait for its WAL flush (an fsync that
        // the next hop's COMMIT would otherwise queue behind). If the database crashes before
        // the flush, the rows come back and are published again: duplicates, which the inboxes
        // absorb, never a loss. Everything else commits synchronously.
        await withTransaction(this.pool, async (db) => {
          void db.query('SET LOCAL synchronous_commit TO off').catch(() => undefined);
          await deleteOutboxRows(db, ids);
        });
      } catch (error) {
        // The rows stay and are published again by the sweep: at least once, never lost.
        this.logger.warn({ err: errorMessage(error), rows: ids.length }, 'could not delete published outbox rows');
      }
      this.ledger.directDone(ids);
    }
  }
}
