import type { EventData, EventType, ServiceName } from '@troupe/contracts';
import type { Pool, PoolClient } from 'pg';
import { stageEvent, type OutboxEvent } from '../outbox/event';
import { insertOutboxRows } from '../outbox/table';

/** What a use case gets: the transaction, and `publish`, which only ever writes to the outbox. */
export interface UnitOfWork {
  /** A client inside the open transaction: everything done through it commits or rolls back together. */
  readonly db: PoolClient;
  /** Records an event to publish once the transaction commits; returns its event id. */
  publish<T extends EventType>(type: T, orderId: string, data: EventData[T]): string;
  /** Runs `callback` once the transaction has committed (metrics, caches); never if it rolls back. */
  onCommit(callback: () => void): void;
}

/** The unit of work as the library's own runners see it: with a way to undo one step of it. */
export interface TransactionUnitOfWork extends UnitOfWork {
  /** Remembers what is staged now; the function it returns forgets whatever was staged since. */
  checkpoint(): () => void;
}

/** Runs `work` as one unit of work; the capability routes and the consumers are given. */
export type RunUnitOfWork = <R>(work: (uow: TransactionUnitOfWork) => Promise<R>) => Promise<R>;

/**
 * The transactional outbox, whole: BEGIN; `work`; its staged events written to the outbox;
 * COMMIT; the committed events handed to `handOff` (the relay, which publishes them at once).
 * The change and its events commit or vanish together.
 */
export function unitOfWork(pool: Pool, service: ServiceName, handOff: (events: OutboxEvent[]) => void): RunUnitOfWork {
  return async (work) => {
    const staged: OutboxEvent[] = [];
    const committed: (() => void)[] = [];
    const uow: (db: PoolClient) => TransactionUnitOfWork = (db) => ({
      db,
      onCommit: (callback) => committed.push(callback),
      publish(type, orderId, data) {
        const event = stageEvent(service, type, orderId, data);
        staged.push(event);
        return event.id;
      },
      checkpoint() {
        const [events, callbacks] = [staged.length, committed.length];
        return () => {
          staged.length = events;
          committed.length = callbacks;
        };
      },
    });
    const result = await withTransaction(
      pool,
      (db) => work(uow(db)),
      (db) => insertOutboxRows(db, staged),
    );
    if (staged.length > 0) handOff(staged);
    for (const callback of committed) {
      try {
        callback();
      } catch {
        // after-commit work is best effort (metrics); it must not turn a success into a failure
      }
    }
    return result;
  };
}

/**
 * Runs `work` in one transaction on a client of its own: COMMIT if it returns, ROLLBACK if it
 * throws. A client whose ROLLBACK failed (its connection is gone) is destroyed, not reused.
 *
 * `BEGIN` is not awaited on its own: it goes out with `work`'s first statement, and `finish`'s
 * statements (the outbox rows) go out with the `COMMIT`. On a pool created with
 * `pipeline: true` (see @troupe/platform) that saves two round trips per transaction; on any other
 * pool the statements simply queue, with the same effect. If a `finish` statement fails, the server
 * answers the `COMMIT` with a rollback, and the failure is what this function throws.
 */
export async function withTransaction<R>(
  pool: Pool,
  work: (db: PoolClient) => Promise<R>,
  finish?: (db: PoolClient) => Promise<void>,
): Promise<R> {
  const db = await pool.connect();
  let broken = false;
  // A checked-out client has no 'error' listener of the pool's: a connection lost between two
  // statements (the server shut down, say) would be an uncaught error and take the process down.
  // The statement in flight fails anyway; the client is then destroyed, not reused.
  const onLost = () => {
    broken = true;
  };
  db.on('error', onLost);
  const begin = db.query('BEGIN');
  begin.catch(() => undefined); // its failure fails the statements after it, which are awaited
  try {
    const result = await work(db);
    await begin;
    const [, commit] = await Promise.all([finish?.(db), db.query('COMMIT')]);
    // A transaction left failed (a statement's error caught and ignored) answers COMMIT with a
    // rollback, not an error: nothing was committed, and the caller must not think otherwise.
    if (commit.command === 'ROLLBACK') throw new Error('the transaction had failed: COMMIT rolled it back');
    return result;
  } catch (error) {
    await db.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    db.removeListener('error', onLost);
    db.release(broken);
  }
}
