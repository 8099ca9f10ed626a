import { connect as netConnect } from 'node:net';
import amqp from 'amqplib';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { randomBytes } from 'node:crypto';
import { provisionAccess } from './access';
import { brokerAdmin, discoverBrokerAdmin } from './broker-admin';

import './provided';

const portOpen = (host: string, port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = netConnect({ host, port, timeout: 1000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

const redacted = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');

/** What to type when the broker or database refuses the default credentials (the compose stack). */
const COMPOSE_HINT =
  'if the compose stack is running (`make up`), run the tests against it with: ' +
  '(set -a && . ./.env && RABBITMQ_URL=amqp://troupe:$RABBITMQ_PASSWORD@localhost:5672 DATABASE_URL=postgres://postgres:$POSTGRES_PASSWORD@localhost:5432/postgres make test)';

/**
 * Logs in once, so a wrong password stops the run at once with one line instead of failing every
 * file; says which versions the run is on.
 */
async function assertCanLogIn(rabbitmqUrl: string, databaseUrl: string): Promise<{ rabbitmq: string; postgres: string }> {
  let rabbitmq: string;
  try {
    const connection = await amqp.connect(rabbitmqUrl, { timeout: 5000 });
    rabbitmq = String(connection.connection.serverProperties?.version ?? 'unknown');
    await connection.close();
  } catch (error) {
    throw new Error(`cannot log in to RabbitMQ at ${redacted(rabbitmqUrl)} (${(error as Error).message.split('\n')[0]}); ${COMPOSE_HINT}`);
  }
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5000 });
  try {
    await client.connect();
    return { rabbitmq, postgres: (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]?.server_version ?? 'unknown' };
  } catch (error) {
    throw new Error(`cannot log in to Postgres at ${redacted(databaseUrl)} (${(error as Error).message}); ${COMPOSE_HINT}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Finds the broker and the database to test against, once for every project: RABBITMQ_URL /
 * DATABASE_URL when set, else the ones listening on localhost, else containers (testcontainers,
 * imported only then, so machines without Docker never load it). Vhosts are created through the
 * management API when it answers, else with rabbitmqctl (a default broker has the plugin off).
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const stops: (() => Promise<unknown>)[] = [];
  let rabbitmqUrl = process.env.RABBITMQ_URL;
  let managementUrl = process.env.RABBITMQ_MANAGEMENT_URL;
  let databaseUrl = process.env.DATABASE_URL;

  if (!rabbitmqUrl) {
    if (await portOpen('127.0.0.1', 5672)) {
      rabbitmqUrl = 'amqp://guest:guest@localhost:5672';
    } else {
      const { RabbitMQContainer } = await import('@testcontainers/rabbitmq');
      const container = await new RabbitMQContainer('rabbitmq:4.2.3-management').start();
      stops.push(() => container.stop());
      rabbitmqUrl = container.getAmqpUrl();
      managementUrl = `http://guest:guest@${container.getHost()}:${container.getMappedPort(15672)}`;
    }
  }
  if (!databaseUrl) {
    if (await portOpen('127.0.0.1', 5432)) {
      databaseUrl = 'postgres://postgres@localhost:5432/postgres';
    } else {
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const container = await new PostgreSqlContainer('postgres:17.7').start();
      stops.push(() => container.stop());
      databaseUrl = container.getConnectionUri();
    }
  }
  const versions = await assertCanLogIn(rabbitmqUrl, databaseUrl);
  console.log(`tests run on RabbitMQ ${versions.rabbitmq} (${redacted(rabbitmqUrl)}) and PostgreSQL ${versions.postgres} (${redacted(databaseUrl)})`);

  // Each service runs under its own broker user and database role, as everywhere else; this run's
  // carry a suffix of their own, so parallel runs and `make dev` never share (or drop) each other's.
  const adminSpec = await discoverBrokerAdmin(rabbitmqUrl, managementUrl);
  const admin = brokerAdmin(adminSpec);
  const { access, remove: removeAccess } = await provisionAccess(admin, databaseUrl, `test-${Date.now().toString(36)}${randomBytes(2).toString('hex')}`);

  project.provide('rabbitmqUrl', rabbitmqUrl);
  project.provide('brokerAdmin', adminSpec);
  project.provide('databaseUrl', databaseUrl);
  project.provide('access', access);
  return async () => {
    await removeAccess();
    await Promise.all(stops.map((stop) => stop()));
  };
}
