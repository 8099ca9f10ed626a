import { randomBytes } from 'node:crypto';
import pg from 'pg';

const suffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

async function management(managementUrl: string, path: string, method: string, body?: unknown): Promise<Response> {
  const url = new URL(managementUrl);
  const auth = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64');
  const response = await fetch(`${url.protocol}//${url.host}/api${path}`, {
    method,
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok && response.status !== 404) {
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
  }
  return response;
}

export interface TestVhost {
  name: string;
  /** AMQP URL pointing at the vhost. */
  url: string;
  delete(): Promise<void>;
}

/** A fresh RabbitMQ vhost for one test file: no purging of shared queues, no cross-talk. */
export async function createTestVhost(rabbitmqUrl: string, managementUrl: string, label = 'test'): Promise<TestVhost> {
  const name = `troupe-${label}-${suffix()}`;
  const user = decodeURIComponent(new URL(rabbitmqUrl).username || 'guest');
  await management(managementUrl, `/vhosts/${encodeURIComponent(name)}`, 'PUT', {});
  await management(managementUrl, `/permissions/${encodeURIComponent(name)}/${encodeURIComponent(user)}`, 'PUT', {
    configure: '.*',
    write: '.*',
    read: '.*',
  });
  const url = new URL(rabbitmqUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    delete: async () => {
      await management(managementUrl, `/vhosts/${encodeURIComponent(name)}`, 'DELETE');
    },
  };
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
