import crypto from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import fs from 'node:fs';
import pg from 'pg';
import { sql } from 'kysely';
import { inject } from 'vitest';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';

/** A migrated database for one test file, and how to get rid of it. */
export interface TestDatabase extends Database {
  /**
   * The same database reached as an ordinary login role (member of wangge_app), the way the API
   * runs in production; buildTestApp serves from it. The embedded database has one superuser
   * only, so there it is the owner's connection.
   */
  app: Database;
  drop(): Promise<void>;
}

/** Cluster-wide login role for the API under test; created once, shared by test databases. */
const APP_LOGIN_ROLE = 'wangge_test_app';

async function ensureAppLoginRole(adminUrl: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    await c.query(`CREATE ROLE ${APP_LOGIN_ROLE} LOGIN IN ROLE wangge_app`);
  } catch (err) {
    // Another test file created it first (duplicate_object / unique_violation on pg_authid).
    if (!['42710', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await c.end();
  }
}

const DATA_TABLES = [
  'sessions', 'login_throttle', 'users', 'incidents', 'responders', 'road_edges', 'road_nodes', 'roads', 'buildings', 'grid_records', 'areas',
  'data_sources', 'live_events',
];

/** True when tests run against a real PostgreSQL server rather than the embedded database. */
export const usesExternalDatabase = Boolean(process.env.TEST_DATABASE_URL);

/**
 * With TEST_DATABASE_URL: a fresh database on that server, migrated from empty, dropped afterwards.
 * Without it: the embedded database started by tests/support/global-setup.ts, emptied of data
 * (files run one at a time in that mode).
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const url = inject('embeddedUrl');
    if (!url) throw new Error('no TEST_DATABASE_URL and no embedded test database (global setup missing?)');
    const database = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 4 });
    await sql.raw(`TRUNCATE ${DATA_TABLES.join(', ')} CASCADE`).execute(database.db);
    const embedded = { ...database, mode: 'embedded' as const };
    return { ...embedded, app: embedded, drop: () => database.close() };
  }
  const name = `wangge_test_${crypto.randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  await migrateToLatest(database.db);
  await ensureAppLoginRole(adminUrl);
  const appUrl = new URL(url);
  appUrl.username = APP_LOGIN_ROLE;
  appUrl.password = '';
  const app = await openDatabase({ databaseUrl: appUrl.toString(), dataDir: '' });
  return {
    ...database,
    app,
    async drop() {
      await app.close();
      await database.close();
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

/** A throw-away folder under the OS temp dir. */
export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `wangge-${prefix}-`));
}

declare module 'vitest' {
  export interface ProvidedContext {
    embeddedUrl: string;
  }
}
