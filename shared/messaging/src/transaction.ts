import type { Pool, PoolClient } from 'pg';

/**
 * Runs `work` in one transaction on a client of its own: COMMIT if it returns, ROLLBACK if it
 * throws. A client whose ROLLBACK failed (its connection is gone) is destroyed, not reused.
 */
export async function withTransaction<R>(pool: Pool, work: (db: PoolClient) => Promise<R>): Promise<R> {
  const db = await pool.connect();
  let broken = false;
  try {
    await db.query('BEGIN');
    const result = await work(db);
    await db.query('COMMIT');
    return result;
  } catch (error) {
    await db.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw error;
  } finally {
    db.release(broken);
  }
}
