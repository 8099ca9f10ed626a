import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on a client of its own: COMMIT if it returns, ROLLBACK if it
 * throws. A client whose ROLLBACK failed (its connection is gone) is destroyed, not reused.
 *
 * `BEGIN` is not awaited on its own: it goes out with `work`'s first statement, and `finish`'s
 * statements (the outbox rows) go out with the `COMMIT`. On a pool created with
 * `pipeline: true` (see @troupe/service) that saves two round trips per transaction; on any other
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
