import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Kysely, Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { repoRoot } from '../config.js';

export const migrationsDir = path.join(repoRoot, 'migrations');

/**
 * SHA-256 of every applied migration file, kept beside Kysely's `schema_migrations` (which has no
 * room for one). The migrator creates it itself, so it is not part of any numbered migration.
 */
const CHECKSUM_TABLE = 'schema_migration_checksums';

/** Where the migrations are read from; tests point it at a copy. */
export interface MigrateOptions {
  migrationsDir?: string;
}

interface MigrationFile {
  /** Migration name as recorded in schema_migrations: the file name without `.sql`. */
  name: string;
  file: string;
  text: string;
  sha256: string;
}

/** A landed migration file no longer matches the checksum recorded when it was applied. */
export class MigrationChangedError extends Error {
  constructor(
    readonly file: string,
    recorded: string,
    current: string,
  ) {
    super(
      `migration ${file} was changed after it was applied (SHA-256 recorded ${recorded}, file now ${current}). ` +
        'Applied migrations are frozen: restore the file and put the change in a new migration.',
    );
  }
}

async function readMigrationFiles(dir: string): Promise<MigrationFile[]> {
  const files = (await fs.readdir(dir)).filter((f) => /^\d{4}_[a-z0-9_]+\.sql$/.test(f)).sort();
  return Promise.all(
    files.map(async (file) => {
      const text = await fs.readFile(path.join(dir, file), 'utf8');
      // Line endings are normalised so that a checkout with CRLF (git autocrlf) is the same file.
      const sha256 = crypto.createHash('sha256').update(text.replace(/\r\n/g, '\n')).digest('hex');
      return { name: file.replace(/\.sql$/, ''), file, text, sha256 };
    }),
  );
}

/** Serves the frozen, numbered .sql files to Kysely's Migrator; each records its checksum as it is applied. */
class SqlFileMigrationProvider implements MigrationProvider {
  constructor(private readonly files: MigrationFile[]) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const migrations: Record<string, Migration> = {};
    for (const { name, text, sha256 } of this.files) {
      migrations[name] = {
        // A statement without parameters goes through the simple query protocol, so a file with
        // many statements runs as one unit inside the migrator's transaction; the checksum is
        // written in that transaction too.
        up: async (db) => {
          await sql.raw(text).execute(db);
          await sql`INSERT INTO ${sql.table(CHECKSUM_TABLE)} (name, sha256) VALUES (${name}, ${sha256})
            ON CONFLICT (name) DO UPDATE SET sha256 = excluded.sha256, recorded_at = now()`.execute(db);
        },
      };
    }
    return migrations;
  }
}

interface MigrationState {
  applied: string[];
  /** Recorded checksums by migration name. */
  checksums: Map<string, string>;
}

/** What the database has applied and recorded; only reads, so the API's ordinary role can run it. */
async function readState(db: Kysely<any>): Promise<MigrationState> {
  const tables = await sql<{ migrations: string | null; checksums: string | null }>`
    SELECT to_regclass('schema_migrations')::text AS migrations, to_regclass(${CHECKSUM_TABLE})::text AS checksums`.execute(db);
  const { migrations, checksums } = tables.rows[0];
  const applied = migrations ? (await sql<{ name: string }>`SELECT name FROM schema_migrations`.execute(db)).rows.map((r) => r.name) : [];
  const recorded = checksums
    ? (await sql<{ name: string; sha256: string }>`SELECT name, sha256 FROM ${sql.table(CHECKSUM_TABLE)}`.execute(db)).rows
    : [];
  return { applied, checksums: new Map(recorded.map((r) => [r.name, r.sha256])) };
}

/** Refuses a landed file that differs from what was applied. An applied migration whose file is gone is left to Kysely. */
function verify(files: MigrationFile[], state: MigrationState): void {
  const applied = new Set(state.applied);
  for (const f of files) {
    const recorded = applied.has(f.name) ? state.checksums.get(f.name) : undefined;
    if (recorded !== undefined && recorded !== f.sha256) throw new MigrationChangedError(f.file, recorded, f.sha256);
  }
}

/** Creates the checksum table if absent (owner only); the API's role may read it and nothing more. */
async function ensureChecksumTable(db: Kysely<any>): Promise<void> {
  try {
    await sql`CREATE TABLE IF NOT EXISTS ${sql.table(CHECKSUM_TABLE)} (
      name text PRIMARY KEY,
      sha256 text NOT NULL,
      recorded_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  } catch (err) {
    // Two processes starting on a fresh database: the other one created it first.
    if (!['42P07', '23505'].includes((err as { code?: string }).code ?? '')) throw err;
  }
}

/**
 * The ordinary role wangge_app (created by migration 0002) reads the checksums to verify them at
 * start; migration 0002's GRANT ON ALL TABLES would otherwise also let it write them.
 */
async function restrictChecksumTable(db: Kysely<any>): Promise<void> {
  await sql
    .raw(
      `DO $$
      BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wangge_app') THEN
          REVOKE ALL ON ${CHECKSUM_TABLE} FROM wangge_app;
          GRANT SELECT ON ${CHECKSUM_TABLE} TO wangge_app;
        END IF;
      END $$`,
    )
    .execute(db);
}

function needsOwner(err: unknown): Error {
  if ((err as { code?: string }).code !== '42501') return err as Error;
  return new Error(
    `recording migration checksums needs the database owner (run \`pnpm cli migrate\` as the owner once): ${(err as Error).message}`,
  );
}

/**
 * Verifies the applied migrations against their files, then applies every pending one; the same
 * migrator serves both database modes. A database migrated before checksums were kept records
 * those of its files on its first run. When nothing is pending and every checksum is recorded it
 * only reads, so the API can start as an ordinary role that may not create tables or take the
 * migration lock (the owner migrates with `pnpm cli migrate`).
 */
export async function migrateToLatest(db: Kysely<any>, opts: MigrateOptions = {}): Promise<string[]> {
  const files = await readMigrationFiles(opts.migrationsDir ?? migrationsDir);
  const state = await readState(db);
  verify(files, state);
  const applied = new Set(state.applied);
  const unrecorded = files.filter((f) => applied.has(f.name) && !state.checksums.has(f.name));
  const pending = files.filter((f) => !applied.has(f.name));
  if (pending.length === 0 && unrecorded.length === 0) return [];

  try {
    await ensureChecksumTable(db);
    if (unrecorded.length) {
      const rows = unrecorded.map((f) => sql`(${f.name}, ${f.sha256})`);
      await sql`INSERT INTO ${sql.table(CHECKSUM_TABLE)} (name, sha256) VALUES ${sql.join(rows)} ON CONFLICT (name) DO NOTHING`.execute(db);
    }
  } catch (err) {
    throw needsOwner(err);
  }
  let done: string[] = [];
  if (pending.length) {
    const migrator = new Migrator({
      db,
      provider: new SqlFileMigrationProvider(files),
      migrationTableName: 'schema_migrations',
      migrationLockTableName: 'schema_migrations_lock',
    });
    const { error, results } = await migrator.migrateToLatest();
    const failed = results?.find((r) => r.status === 'Error');
    if (error || failed) {
      const reason = error instanceof Error ? error.message : String(error ?? 'unknown error');
      throw new Error(`migration ${failed?.migrationName ?? ''} failed: ${reason}`);
    }
    done = (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
  }
  await restrictChecksumTable(db);
  return done;
}
