import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { ensureServiceDatabase, vhostDefinitions, withCredentials, type Access, type BrokerUser, type DatabaseAccess } from './access';
import { brokerAdmin } from './broker-admin';

const suffix = () => `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;

export interface TestVhost {
  name: string;
  /** AMQP URL pointing at the vhost, as the tests' own (operator) user. */
  url: string;
  /** AMQP URL pointing at the vhost, as `service`'s own least-privilege user. */
  urlFor(user: BrokerUser): string;
  delete(): Promise<void>;
}

/**
 * A fresh RabbitMQ vhost for one test file, set up as troupe needs it (`vhostDefinitions`): no
 * purging of shared queues, no cross-talk, each service's user limited to its own names.
 * `admin` is the global setup's `brokerAdmin` (the management API or rabbitmqctl); `access` its
 * per-run users.
 */
export async function createTestVhost(rabbitmqUrl: string, admin: string, access: Access, label = 'test'): Promise<TestVhost> {
  const name = `troupe-${label}-${suffix()}`;
  const operator = decodeURIComponent(new URL(rabbitmqUrl).username || 'guest');
  const broker = brokerAdmin(admin);
  await broker.importDefinitions(vhostDefinitions(name, operator, access));
  const url = new URL(rabbitmqUrl);
  url.pathname = `/${encodeURIComponent(name)}`;
  return {
    name,
    url: url.toString(),
    urlFor: (service) => withCredentials(url.toString(), access[service].brokerUser, access[service].brokerPassword),
    delete: () => broker.deleteVhost(name),
  };
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh Postgres database (dropped afterwards, connections and all). With `owner`, it belongs to
 * that service's role as troupe sets it up (`ensureServiceDatabase`: CONNECT revoked from PUBLIC),
 * and `url` connects as that role; without, `url` connects as the admin.
 */
export async function createTestDatabase(databaseUrl: string, label = 'test', owner?: DatabaseAccess): Promise<TestDatabase> {
  const name = `troupe_${label}_${suffix()}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  if (owner) {
    await ensureServiceDatabase(databaseUrl, name, owner.dbRole);
  } else {
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE "${name}"`);
    } finally {
      await admin.end();
    }
  }
  const url = new URL(owner ? withCredentials(databaseUrl, owner.dbRole, owner.dbPassword) : databaseUrl);
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
