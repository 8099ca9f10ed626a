import { connect as netConnect } from 'node:net';
import type { TestProject } from 'vitest/node';

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

/**
 * Finds the broker and the database to test against, once for every project: RABBITMQ_URL /
 * DATABASE_URL when set, else the ones listening on localhost, else containers (testcontainers,
 * imported only then, so machines without Docker never load it).
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
  if (!managementUrl) {
    const amqp = new URL(rabbitmqUrl);
    const user = decodeURIComponent(amqp.username || 'guest');
    const pass = decodeURIComponent(amqp.password || 'guest');
    managementUrl = `http://${encodeURIComponent(user)}:${encodeURIComponent(pass)}@${amqp.hostname}:15672`;
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

  project.provide('rabbitmqUrl', rabbitmqUrl);
  project.provide('rabbitmqManagementUrl', managementUrl);
  project.provide('databaseUrl', databaseUrl);
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
