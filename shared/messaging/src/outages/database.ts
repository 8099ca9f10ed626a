import type { Pool } from 'pg';
import { DATABASE } from './failures';
import type { Dependency } from './outages';

/**
 * The service's own database, as handlers need it: reachable, a connection to spare, and
 * writable (a server in recovery or a read-only database answers SELECT 1 but refuses every write).
 */
export function databaseDependency(pool: Pool): Dependency {
  return {
    name: DATABASE,
    scope: 'all',
    probe: async () => {
      const { rows } = await pool.query<{ ro: string }>("SELECT current_setting('transaction_read_only') AS ro");
      if (rows[0]?.ro !== 'off') throw new Error('database is read-only');
    },
  };
}
