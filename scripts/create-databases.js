#!/usr/bin/env node
// Creates each service's database on the Postgres that DATABASE_ADMIN_URL points to (default: the
// local one), if missing. Used by `make dev` and `make bench`.
const { Client } = require('pg');

async function main() {
  const names = process.argv.slice(2);
  const admin = new Client({ connectionString: process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@localhost:5432/postgres' });
  await admin.connect();
  try {
    const { rows } = await admin.query('SELECT datname FROM pg_database WHERE datname = ANY($1)', [names]);
    const existing = new Set(rows.map((r) => r.datname));
    for (const name of names.filter((n) => !existing.has(n))) {
      await admin.query(`CREATE DATABASE "${name}"`);
      console.log(`created database ${name}`);
    }
  } finally {
    await admin.end();
  }
}

main().catch((error) => {
  console.error(`could not create the databases: ${error.message}`);
  process.exit(1);
});
