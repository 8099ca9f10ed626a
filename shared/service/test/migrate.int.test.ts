import { join } from 'node:path';
import { MIGRATIONS_DIR } from '@troupe/messaging';
import { createTestDatabase, query, type TestDatabase } from '@troupe/testing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { migrate } from '../src/db';

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase(inject('databaseUrl'), 'migrate');
});
afterAll(async () => {
  await db?.drop();
});

describe('migrations at start-up', () => {
  it('when three replicas start at once on a fresh database, then all succeed and each migration runs once', async () => {
    const logger = pino({ level: 'silent' });
    const service = join(__dirname, '..', '..', '..', 'services', 'payment', 'migrations');
    await Promise.all([1, 2, 3].map(() => migrate(db.url, [MIGRATIONS_DIR, service], logger)));
    const rows = await query<{ name: string }>(db.url, 'SELECT name FROM pgmigrations ORDER BY id');
    expect(rows.map((r) => r.name)).toEqual(['1763700000000_troupe-messaging', '1763700000100_payment-schema', '1763800000000_troupe-inbox-pruning', '1763900000000_troupe-failed-attempts', '1764000000000_troupe-dead-letters', '1764100000000_troupe-dead-letter-groups', '1765000000100_gateway-calls-moved-to-the-gateway']);
  });
});
