#!/usr/bin/env node
// Sets up a local RabbitMQ and Postgres for `make dev`: each service's broker user (permissions on
// its own names only), the observer's (read-only: its own queues, the four exchanges), and database role (owner of its database, CONNECT revoked from PUBLIC), the
// four databases and the card gateway's (role and database, no broker user), and the fanout
// exchanges on the vhost. Idempotent. The passwords, and the operator's read token every process
// gets (OPERATOR_READ_TOKEN: the order list, failed attempts, the ledger), are generated once into
// .tools/local-credentials.json (git-ignored, mode 600); delete that file and run again to rotate
// them. Admin connections: RABBITMQ_ADMIN_URL (default guest on localhost, which only
// works from the broker's own machine) and DATABASE_ADMIN_URL (default postgres on localhost).
const { randomBytes } = require('node:crypto');
const { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { dirname, join } = require('node:path');
const { SERVICES } = require('@troupe/contracts');
const {
  brokerAdmin,
  DATABASE_OWNERS,
  discoverBrokerAdmin,
  ensureBrokerUsers,
  ensureDbRoles,
  ensureServiceDatabase,
  newAccess,
  vhostDefinitions,
  withCredentials,
} = require('@troupe/testing');

const CREDENTIALS = join(__dirname, '..', '.tools', 'local-credentials.json');
const RABBITMQ_ADMIN_URL = process.env.RABBITMQ_ADMIN_URL ?? 'amqp://guest:guest@localhost:5672';
const DATABASE_ADMIN_URL = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@localhost:5432/postgres';

/** The local service credentials: read, or generated once (and completed when one is missing). */
function localAccess() {
  const saved = existsSync(CREDENTIALS) ? JSON.parse(readFileSync(CREDENTIALS, 'utf8')) : {};
  if (DATABASE_OWNERS.every((owner) => saved[owner]) && saved.observer && saved.operatorReadToken) return saved;
  const access = { ...newAccess(), operatorReadToken: randomBytes(24).toString('hex'), ...saved };
  mkdirSync(dirname(CREDENTIALS), { recursive: true });
  writeFileSync(CREDENTIALS, `${JSON.stringify(access, null, 2)}\n`, { mode: 0o600 });
  chmodSync(CREDENTIALS, 0o600);
  return access;
}

/**
 * The URLs each service connects with under `make dev`: the gateway has no broker user, the
 * observer no database.
 */
function serviceUrls(access, service) {
  const vhost = new URL(RABBITMQ_ADMIN_URL);
  const { brokerUser, brokerPassword, dbRole, dbPassword } = access[service];
  const database = dbRole && new URL(withCredentials(DATABASE_ADMIN_URL, dbRole, dbPassword));
  if (database) database.pathname = `/${service}`;
  return {
    ...(brokerUser ? { RABBITMQ_URL: withCredentials(vhost.toString(), brokerUser, brokerPassword) } : {}),
    ...(database ? { DATABASE_URL: database.toString() } : {}),
  };
}

async function main() {
  const access = localAccess();
  const admin = brokerAdmin(await discoverBrokerAdmin(RABBITMQ_ADMIN_URL, process.env.RABBITMQ_MANAGEMENT_URL));
  const vhost = decodeURIComponent(new URL(RABBITMQ_ADMIN_URL).pathname.slice(1)) || '/';
  const operator = decodeURIComponent(new URL(RABBITMQ_ADMIN_URL).username || 'guest');
  await ensureBrokerUsers(admin, access);
  await admin.importDefinitions(vhostDefinitions(vhost, operator, access));
  await ensureDbRoles(DATABASE_ADMIN_URL, access);
  for (const owner of DATABASE_OWNERS) await ensureServiceDatabase(DATABASE_ADMIN_URL, owner, access[owner].dbRole);
  console.log(`local access ready: broker users ${[...SERVICES, 'observer'].map((s) => access[s].brokerUser).join(', ')} on vhost ${vhost} (via ${admin.via}); database roles ${DATABASE_OWNERS.map((s) => access[s].dbRole).join(', ')}`);
}

module.exports = { localAccess, serviceUrls };

if (require.main === module) {
  main().catch((error) => {
    console.error(`could not set up local access: ${error.message}`);
    process.exit(1);
  });
}
