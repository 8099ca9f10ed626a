import { randomBytes } from 'node:crypto';
import { brokerPermissionsOf, exchangeOf, observerPermissions, SERVICES, type ServiceName } from '@troupe/contracts';
import pg from 'pg';
import type { BrokerAdmin, Definitions } from './broker-admin';

/**
 * Least privilege, set up the same way wherever troupe runs outside compose (tests, `make dev`,
 * the bench): each service gets a broker user whose permissions name only its own exchanges and
 * queues (`brokerPermissionsOf`) and a Postgres role that owns its database and nothing else.
 * Every step is idempotent; running it again rotates nothing unless given new passwords.
 */
export interface ServiceAccess {
  brokerUser: string;
  brokerPassword: string;
  dbRole: string;
  dbPassword: string;
}

/** A database role alone: the card gateway has a database of its own but no broker user. */
export type DatabaseAccess = Pick<ServiceAccess, 'dbRole' | 'dbPassword'>;

/** A broker user alone: the observer watches the exchanges and has no database. */
export type BrokerAccess = Pick<ServiceAccess, 'brokerUser' | 'brokerPassword'>;

export type Access = Record<ServiceName, ServiceAccess> & { gateway: DatabaseAccess; observer: BrokerAccess };

/** Whoever has a broker user: the four services and the observer. */
export type BrokerUser = ServiceName | 'observer';

/** Everything with a database of its own: the four services and the card gateway. */
export const DATABASE_OWNERS = [...SERVICES, 'gateway'] as const;

/** Names for each service's user and role; `suffix` keeps a test run's apart from `make dev`'s. */
export function newAccess(suffix = ''): Access {
  // Hex: a password starting with '-' would be taken for an option by rabbitmqctl.
  const password = () => randomBytes(20).toString('hex');
  const tail = suffix ? `-${suffix}` : '';
  const dbRole = (owner: string) => `troupe_${owner}${tail}`.replace(/-/g, '_');
  return {
    ...Object.fromEntries(
      SERVICES.map((service) => [service, { brokerUser: `troupe-${service}${tail}`, brokerPassword: password(), dbRole: dbRole(service), dbPassword: password() }]),
    ),
    gateway: { dbRole: dbRole('gateway'), dbPassword: password() },
    observer: { brokerUser: `troupe-observer${tail}`, brokerPassword: password() },
  } as Access;
}

/**
 * A run's own broker users and database roles (`newAccess(suffix)`), created now; `remove` deletes
 * them and every database the roles own. Nothing is left behind when the creation fails half-way.
 */
export async function provisionAccess(admin: BrokerAdmin, adminUrl: string, suffix: string): Promise<{ access: Access; remove: () => Promise<void> }> {
  const access = newAccess(suffix);
  const remove = async () => {
    await Promise.allSettled([deleteBrokerUsers(admin, access), dropDbRoles(adminUrl, access)]);
  };
  try {
    await ensureBrokerUsers(admin, access);
    await ensureDbRoles(adminUrl, access);
  } catch (error) {
    await remove();
    throw error;
  }
  return { access, remove };
}

/** Creates (or re-passwords) the broker users; they get permissions per vhost (`vhostDefinitions`). */
export async function ensureBrokerUsers(admin: BrokerAdmin, access: Access): Promise<void> {
  await admin.importDefinitions({
    users: [...SERVICES, 'observer' as const].map((user) => ({ name: access[user].brokerUser, password: access[user].brokerPassword, tags: '' })),
  });
}

/**
 * A vhost as troupe needs it: the four fanout exchanges (each producer declares its own too; having
 * them up front lets a consumer start before its producer), full rights for `operator` (the CLI,
 * the tests' own client), each service user's least-privilege permissions, and the observer's
 * read-only ones.
 */
export function vhostDefinitions(vhost: string, operator: string, access: Access): Required<Pick<Definitions, 'vhosts' | 'exchanges' | 'permissions'>> {
  return {
    vhosts: [{ name: vhost }],
    exchanges: SERVICES.map((service) => ({ name: exchangeOf(service), vhost, type: 'fanout', durable: true, auto_delete: false, internal: false, arguments: {} })),
    permissions: [
      { user: operator, vhost, configure: '.*', write: '.*', read: '.*' },
      ...SERVICES.map((service) => ({ user: access[service].brokerUser, vhost, ...brokerPermissionsOf(service) })),
      { user: access.observer.brokerUser, vhost, ...observerPermissions() },
    ],
  };
}

export async function deleteBrokerUsers(admin: BrokerAdmin, access: Access): Promise<void> {
  for (const user of [...SERVICES, 'observer' as const]) await admin.deleteUser(access[user].brokerUser);
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string) => `'${text.replace(/'/g, "''")}'`;

async function withClient<R>(url: string, work: (client: pg.Client) => Promise<R>): Promise<R> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates each service's role (and the gateway's) (login, no superuser, no CREATEDB/CREATEROLE), or resets its password. */
export async function ensureDbRoles(adminUrl: string, access: Access): Promise<void> {
  await withClient(adminUrl, async (client) => {
    for (const owner of DATABASE_OWNERS) {
      const { dbRole, dbPassword } = access[owner];
      const exists = (await client.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [dbRole])).rowCount === 1;
      await client.query(
        `${exists ? 'ALTER' : 'CREATE'} ROLE ${ident(dbRole)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD ${literal(dbPassword)}`,
      );
    }
  });
}

/**
 * Creates `name` owned by `role`, or hands an existing one (and every table, sequence and view in
 * its public schema) over to it, and revokes CONNECT from PUBLIC: only its owner (and superusers)
 * can connect to it.
 */
export async function ensureServiceDatabase(adminUrl: string, name: string, role: string): Promise<void> {
  await withClient(adminUrl, async (client) => {
    const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
    await client.query(exists ? `ALTER DATABASE ${ident(name)} OWNER TO ${ident(role)}` : `CREATE DATABASE ${ident(name)} OWNER ${ident(role)}`);
    await client.query(`REVOKE ALL ON DATABASE ${ident(name)} FROM PUBLIC`);
    if (!exists) return;
    const url = new URL(adminUrl);
    url.pathname = `/${encodeURIComponent(name)}`;
    await withClient(url.toString(), async (db) => {
      const { rows } = await db.query<{ kind: string; name: string }>(
        `SELECT CASE c.relkind WHEN 'S' THEN 'SEQUENCE' WHEN 'v' THEN 'VIEW' ELSE 'TABLE' END AS kind, c.relname AS name
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'S', 'v') AND NOT EXISTS (
            SELECT 1 FROM pg_depend d WHERE d.objid = c.oid AND d.deptype IN ('a', 'i'))`,
      );
      for (const row of rows) await db.query(`ALTER ${row.kind} public.${ident(row.name)} OWNER TO ${ident(role)}`);
    });
  });
}

/** Drops every database the roles own, then the roles. */
export async function dropDbRoles(adminUrl: string, access: Access): Promise<void> {
  await withClient(adminUrl, async (client) => {
    for (const owner of DATABASE_OWNERS) {
      const { dbRole } = access[owner];
      const owned = await client.query<{ datname: string }>(
        'SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = $1',
        [dbRole],
      );
      for (const { datname } of owned.rows) await client.query(`DROP DATABASE IF EXISTS ${ident(datname)} WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS ${ident(dbRole)}`);
    }
  });
}

/** `url` with the user and password replaced. */
export function withCredentials(url: string, user: string, password: string): string {
  const out = new URL(url);
  out.username = encodeURIComponent(user);
  out.password = encodeURIComponent(password);
  return out.toString();
}
