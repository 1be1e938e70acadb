import fs from 'node:fs/promises';
import path from 'node:path';
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { repoRoot } from '../config.js';

export const migrationsDir = path.join(repoRoot, 'migrations');

/** Serves the frozen, numbered .sql files of migrations/ to Kysely's Migrator. */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly dir: string) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const files = (await fs.readdir(this.dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
    const migrations: Record<string, Migration> = {};
    for (const file of files) {
      const text = await fs.readFile(path.join(this.dir, file), 'utf8');
      migrations[file.replace(/\.sql$/, '')] = {
        // A statement without parameters goes through the simple query protocol, so a
        // file with many statements runs as one unit inside the migrator's transaction.
        up: async (db) => {
          await sql.raw(text).execute(db);
        },
      };
    }
    return migrations;
  }
}

/**
 * Applies every pending migration; the same migrator serves both database modes. When none is
 * pending it touches nothing, so the API can start as an ordinary role that may not create tables
 * or take the migration lock (the owner migrates with `pnpm cli migrate`).
 */
export async function migrateToLatest(db: Kysely<any>): Promise<string[]> {
  if ((await pendingMigrations(db)).length === 0) return [];
  const migrator = new Migrator({
    db,
    provider: new SqlFileMigrationProvider(migrationsDir),
    migrationTableName: 'schema_migrations',
    migrationLockTableName: 'schema_migrations_lock',
  });
  const { error, results } = await migrator.migrateToLatest();
  const failed = results?.find((r) => r.status === 'Error');
  if (error || failed) {
    const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
    throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${reason}`);
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of the migration files not yet applied to the database. */
export async function pendingMigrations(db: Kysely<any>): Promise<string[]> {
  const all = Object.keys(await new SqlFileMigrationProvider(migrationsDir).getMigrations());
  const exists = await sql<{ t: string | null }>`SELECT to_regclass('schema_migrations')::text AS t`.execute(db);
  if (!exists.rows[0].t) return all;
  const { rows } = await sql<{ name: string }>`SELECT name FROM schema_migrations`.execute(db);
  const applied = new Set(rows.map((r) => r.name));
  return all.filter((name) => !applied.has(name));
}
