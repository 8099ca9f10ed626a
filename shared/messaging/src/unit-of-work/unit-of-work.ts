import type { EventData, EventType, ServiceName } from '@troupe/contracts';
import type { Pool, PoolClient } from 'pg';
import { stageEvent, type OutboxEvent } from '../outbox/event';
import type { OutboxRelay } from '../outbox/relay';
import { insertOutboxRows } from '../outbox/table';
import { withTransaction } from '../transaction';

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
 * COMMIT; the committed events handed to the relay, which publishes them at once. The change and
 * its events commit or vanish together.
 */
export function unitOfWork(pool: Pool, service: ServiceName, relay: Pick<OutboxRelay, 'dispatch'>): RunUnitOfWork {
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
    if (staged.length > 0) relay.dispatch(staged);
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
