import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { brokerAdmin } from './broker-admin';

const suffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface TestVhost {
  name: string;
  /** AMQP URL pointing at the vhost. */
  url: string;
  delete(): Promise<void>;
}

/**
 * A fresh RabbitMQ vhost for one test file: no purging of shared queues, no cross-talk.
 * `admin` is the global setup's `brokerAdmin` (the management API or rabbitmqctl).
 */
export async function createTestVhost(rabbitmqUrl: string, admin: string, label = 'test'): Promise<TestVhost> {
  const name = `troupe-${label}-${suffix()}`;
  const user = decodeURIComponent(new URL(rabbitmqUrl).username || 'guest');
  const broker = brokerAdmin(admin);
  await broker.importDefinitions({
    vhosts: [{ name }],
    permissions: [{ user, vhost: name, configure: '.*', write: '.*', read: '.*' }],
  });
  const url = new URL(rabbitmqUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return { name, url: url.toString(), delete: () => broker.deleteVhost(name) };
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh Postgres database (dropped afterwards, connections and all). */
export async function createTestDatabase(databaseUrl: string, label = 'test'): Promise<TestDatabase> {
  const name = `troupe_${label}_${suffix()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const admin = new pg.Client({ connectionString: databaseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = new URL(databaseUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Runs one query against a database URL with a throwaway client. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(
  databaseUrl: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
