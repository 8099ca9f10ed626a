// What the systems under test run on: vhosts, per-service users and roles, databases, each made
// the way the tests make theirs (@troupe/testing) and removed at the end of the run.
const { brokerAdmin, createTestDatabase, createTestVhost, provisionAccess } = require('@troupe/testing');

/** Per-service broker users and database roles for this run, removed (with their databases) at the end. */
async function serviceAccess(run, id) {
  const { access, remove } = await provisionAccess(brokerAdmin(await run.brokerAdmin()), run.adminDb, `bench-${id}`);
  run.defer(remove);
  return access;
}

/**
 * troupe's vhost, as everywhere else: its exchanges, each service's least-privilege user, and the
 * bench's own client as the operator. Through the management API when it answers, else
 * rabbitmqctl (a default broker has the plugin off).
 */
async function troupeVhost(run, id, access) {
  const vhost = await createTestVhost(run.rabbitmqUrl, await run.brokerAdmin(), access, `bench-${id}`);
  run.defer(() => vhost.delete());
  return vhost;
}

/** A bare vhost for a reference, the operator's alone; its AMQP URL. */
async function referenceVhost(run, name) {
  const admin = brokerAdmin(await run.brokerAdmin());
  const operator = decodeURIComponent(new URL(run.rabbitmqUrl).username || 'guest');
  await admin.importDefinitions({ vhosts: [{ name }], permissions: [{ user: operator, vhost: name, configure: '.*', write: '.*', read: '.*' }] });
  run.defer(() => admin.deleteVhost(name));
  const url = new URL(run.rabbitmqUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * A database dropped at the end of the run: owned by `owner` (a service's role, which `url`
 * connects as) or, without one, the admin's. `adminUrl` connects as the admin either way.
 */
async function database(run, label, owner) {
  const db = await createTestDatabase(run.adminDb, label, owner);
  run.defer(() => db.drop());
  return { name: db.name, url: db.url, adminUrl: Object.assign(new URL(run.adminDb), { pathname: `/${db.name}` }).toString() };
}

module.exports = { database, referenceVhost, serviceAccess, troupeVhost };
