import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { MigrationChangedError, migrateToLatest, migrationsDir } from '../../server/src/db/migrate.js';
import { tempDir, usesExternalDatabase } from '../support/database.js';

const landed = fs.readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort();
const landedNames = landed.map((f) => f.replace(/\.sql$/, ''));
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** The landed migrations copied to a folder of the test's own, so a test may change or add files. */
function copyOfMigrations(): string {
  const dir = tempDir('migrations');
  for (const f of landed) fs.copyFileSync(path.join(migrationsDir, f), path.join(dir, f));
  return dir;
}

async function recordedChecksums(database: Database): Promise<Record<string, string>> {
  const { rows } = await sql<{ name: string; sha256: string }>`SELECT name, sha256 FROM schema_migration_checksums ORDER BY name`.execute(database.db);
  return Object.fromEntries(rows.map((r) => [r.name, r.sha256]));
}

function checksumsOf(dir: string): Record<string, string> {
  return Object.fromEntries(landed.map((f) => [f.replace(/\.sql$/, ''), sha256(path.join(dir, f))]));
}

/**
 * An empty database of this file's own (the migrator must start from nothing): a scratch
 * database on the TEST_DATABASE_URL server, or a PGlite of its own (the shared embedded test
 * database is already migrated).
 */
async function emptyDatabase(): Promise<{ database: Database; drop(): Promise<void> }> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    const database = await openDatabase({ dataDir: tempDir('migrations-db') });
    return { database, drop: () => database.close() };
  }
  const name = `wangge_migrations_${crypto.randomBytes(5).toString('hex')}`;
  await adminQuery(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
  return {
    database,
    async drop() {
      await database.close();
      await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

async function adminQuery(url: string, text: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } catch (err) {
    // The login role exists already (created by another test file).
    if (!['42710', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  } finally {
    await c.end();
  }
}

// One database for the file (a PGlite takes ~20 s to start). Every test starts from, and leaves
// it in, the state after beforeAll: the landed migrations applied and their checksums recorded.
let scratch: Awaited<ReturnType<typeof emptyDatabase>>;
let owner: Database;

beforeAll(async () => {
  scratch = await emptyDatabase();
  owner = scratch.database;
});

afterAll(async () => {
  await scratch?.drop();
});

describe('migration checksums', { timeout: 180_000 }, () => {
  it('an empty database gets every migration, each with the SHA-256 of its file', async () => {
    const dir = copyOfMigrations();
    expect(await migrateToLatest(owner.db, { migrationsDir: dir })).toEqual(landedNames);
    expect(await recordedChecksums(owner)).toEqual(checksumsOf(dir));
  });

  it('an unchanged set passes and writes nothing', async () => {
    const before = await sql<{ recorded_at: Date }>`SELECT recorded_at FROM schema_migration_checksums ORDER BY name`.execute(owner.db);
    expect(await migrateToLatest(owner.db, { migrationsDir: copyOfMigrations() })).toEqual([]);
    const after = await sql<{ recorded_at: Date }>`SELECT recorded_at FROM schema_migration_checksums ORDER BY name`.execute(owner.db);
    expect(after.rows).toEqual(before.rows);
  });

  it('a changed landed file is refused with an error naming the file, and nothing pending is applied', async () => {
    const dir = copyOfMigrations();
    fs.appendFileSync(path.join(dir, '0003_command_centre.sql'), '\n-- an edit after landing\n');
    fs.writeFileSync(path.join(dir, '9001_would_be_next.sql'), 'CREATE TABLE migration_test_never (id int);\n');
    const refused = migrateToLatest(owner.db, { migrationsDir: dir });
    await expect(refused).rejects.toBeInstanceOf(MigrationChangedError);
    await expect(refused).rejects.toThrow(/migration 0003_command_centre\.sql was changed after it was applied/);
    const { rows } = await sql<{ t: string | null }>`SELECT to_regclass('migration_test_never')::text AS t`.execute(owner.db);
    expect(rows[0].t).toBeNull();
  });

  it('a database migrated before checksums were kept records those of its files on the first run, then holds them', async () => {
    const dir = copyOfMigrations();
    await sql`DROP TABLE schema_migration_checksums`.execute(owner.db);
    expect(await migrateToLatest(owner.db, { migrationsDir: dir })).toEqual([]);
    expect(await recordedChecksums(owner)).toEqual(checksumsOf(dir));
    fs.appendFileSync(path.join(dir, '0001_core_schema.sql'), '\n-- an edit after landing\n');
    await expect(migrateToLatest(owner.db, { migrationsDir: dir })).rejects.toThrow(/0001_core_schema\.sql/);
  });

  it('a new file is applied and its checksum recorded in the same run', async () => {
    const dir = copyOfMigrations();
    const extra = path.join(dir, '9001_test_extra.sql');
    fs.writeFileSync(extra, 'CREATE TABLE migration_test_extra (id int);\n');
    try {
      expect(await migrateToLatest(owner.db, { migrationsDir: dir })).toEqual(['9001_test_extra']);
      expect((await recordedChecksums(owner))['9001_test_extra']).toBe(sha256(extra));
      const { rows } = await sql<{ t: string | null }>`SELECT to_regclass('migration_test_extra')::text AS t`.execute(owner.db);
      expect(rows[0].t).toBe('migration_test_extra');
    } finally {
      await sql`DROP TABLE IF EXISTS migration_test_extra`.execute(owner.db);
      await sql`DELETE FROM schema_migrations WHERE name = '9001_test_extra'`.execute(owner.db);
      await sql`DELETE FROM schema_migration_checksums WHERE name = '9001_test_extra'`.execute(owner.db);
    }
  });

  // The API runs as a login role in wangge_app; the embedded database has one superuser only.
  describe.skipIf(!usesExternalDatabase)('as the ordinary role of the API', () => {
    let app: Database;

    beforeAll(async () => {
      const adminUrl = process.env.TEST_DATABASE_URL!;
      await adminQuery(adminUrl, 'CREATE ROLE wangge_test_app LOGIN IN ROLE wangge_app');
      const url = new URL(owner.url);
      url.username = 'wangge_test_app';
      url.password = '';
      app = await openDatabase({ databaseUrl: url.toString(), dataDir: '' });
    });

    afterAll(async () => {
      await app?.close();
    });

    it('start verifies the checksums, reading only, and may not change them', async () => {
      expect(await migrateToLatest(app.db, { migrationsDir: copyOfMigrations() })).toEqual([]);
      await expect(sql`DELETE FROM schema_migration_checksums`.execute(app.db)).rejects.toMatchObject({ code: '42501' });
      await expect(sql`INSERT INTO schema_migration_checksums (name, sha256) VALUES ('x', 'y')`.execute(app.db)).rejects.toMatchObject({ code: '42501' });
    });

    it('a changed landed file is refused to it too', async () => {
      const dir = copyOfMigrations();
      fs.appendFileSync(path.join(dir, '0002_identity.sql'), '\n-- an edit after landing\n');
      await expect(migrateToLatest(app.db, { migrationsDir: dir })).rejects.toThrow(/0002_identity\.sql/);
    });

    it('checksums not recorded yet: start says that the owner must migrate once', async () => {
      await sql`DROP TABLE schema_migration_checksums`.execute(owner.db);
      try {
        await expect(migrateToLatest(app.db, { migrationsDir: copyOfMigrations() })).rejects.toThrow(/needs the database owner.*pnpm cli migrate/);
      } finally {
        await migrateToLatest(owner.db, { migrationsDir: copyOfMigrations() });
      }
    });
  });
});
