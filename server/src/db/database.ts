import pg from 'pg';
import { Kysely, PostgresDialect, sql, type PostgresPool, type PostgresPoolClient } from 'kysely';
import type { DB } from './types.js';
import { preparedName } from './compiled.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './embedded.js';
import type { DataDirOwner } from './data-lock.js';

export type DatabaseMode = 'embedded' | 'external';

/** What the connected database can do, probed once at start. */
export interface Capabilities {
  postgres: string;
  postgis: string;
  /** ST_AsMVT works (PostGIS built with protobuf); PGlite's is not. */
  nativeMvt: boolean;
}

export interface Database {
  mode: DatabaseMode;
  pool: pg.Pool;
  db: Kysely<DB>;
  /** Connection string the pool uses (for the embedded mode, the Unix socket in the data folder). */
  url: string;
  /**
   * Embedded mode: every NOTIFY the database delivers, whichever connection committed it (a CLI
   * writing through the socket included); see db/embedded.ts.
   */
  onNotification?: EmbeddedDatabase['onNotification'];
  close(): Promise<void>;
}

// bigint counts arrive as strings by default; numbers in this domain stay well below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/**
 * Opens the database: the external server at `databaseUrl`, or the embedded PGlite in `dataDir`.
 * Either way the result is a `pg` pool and a Kysely instance over it, so no code above this
 * knows which one it talks to.
 */
export async function openDatabase(opts: {
  databaseUrl?: string;
  dataDir: string;
  poolSize?: number;
  /** Who opens the embedded database (recorded in the data folder's lock): default the server. */
  owner?: DataDirOwner['kind'];
}): Promise<Database> {
  let embedded: EmbeddedDatabase | undefined;
  let url = opts.databaseUrl;
  if (!url) {
    embedded = await startEmbeddedDatabase(opts.dataDir, { kind: opts.owner });
    url = embedded.url;
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: opts.poolSize ?? (embedded ? 4 : 10),
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 30000,
    application_name: 'wangge',
    // No JIT: the API's statements are short, and for the few the planner costs high (the department
    // scores) compiling took longer than running (measured: 0.79 s of JIT on a 0.59 s statement).
    // PGlite has no JIT to turn off.
    ...(embedded ? {} : { options: '-c jit=off' }),
  });
  // A dropped connection (database restart) must not crash the process; the pool reconnects.
  pool.on('error', () => {});
  // A connection cut while a query runs is reported to that query; without a listener the
  // client's own 'error' event would be an uncaught exception and take the process down.
  pool.on('connect', (client) => client.on('error', () => {}));
  // PGlite — ours or another process's (pglite-socket: one session behind every connection, where
  // two connections preparing one statement name collide) — runs nothing named (db/compiled.ts).
  const statements = { named: !(await servedByPglite(pool)) };
  const db = new Kysely<DB>({ dialect: new PostgresDialect({ pool: discardingBrokenConnections(pool, statements) }) });
  return {
    mode: embedded ? 'embedded' : 'external',
    pool,
    db,
    url,
    onNotification: embedded?.onNotification,
    async close() {
      await db.destroy();
      await embedded?.close();
    },
  };
}

/**
 * The pool as Kysely sees it, except that a connection on which a statement failed is destroyed
 * when it is released instead of going back to the pool (Kysely releases it either way), as pg's own
 * `pool.query` does: with PGlite behind pglite-socket a failed parameterised statement can leave the
 * connection's protocol out of step, so that the next statement on it reads the previous one's
 * answer (the sharp edge in ARCHITECTURE.md). Statements fail rarely (bad input is refused before
 * the database); a new connection is cheap. On an external database the statements registered in
 * db/compiled.ts run named.
 */
function discardingBrokenConnections(pool: pg.Pool, opts: { named: boolean }): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let broken: Error | undefined;
      return {
        async query(text: string, values: unknown[]) {
          try {
            // Registered hot statements run named: prepared once per connection (db/compiled.ts).
            const name = opts.named ? preparedName(text) : undefined;
            return name ? await client.query({ name, text, values }) : await client.query(text, values);
          } catch (err) {
            broken = err as Error;
            throw err;
          }
        },
        release() {
          client.release(broken);
        },
      } as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}

/**
 * Whether the pool reaches PGlite (its version() says so). Unknown (the database is away) counts as
 * a real server; the first query reports the outage.
 */
async function servedByPglite(pool: pg.Pool): Promise<boolean> {
  try {
    const { rows } = await pool.query<{ v: string }>('SELECT version() AS v');
    return rows[0].v.includes('PGlite');
  } catch {
    return false;
  }
}

/** Probes versions and native MVT support. */
export async function probeCapabilities(db: Kysely<DB>): Promise<Capabilities> {
  const { rows } = await sql<{ postgres: string; postgis: string }>`
    SELECT current_setting('server_version') AS postgres, postgis_lib_version() AS postgis`.execute(db);
  let nativeMvt = false;
  try {
    await sql`SELECT ST_AsMVT(t, 'probe') FROM (SELECT ST_AsMVTGeom(ST_Point(0, 0, 3857), ST_TileEnvelope(0, 0, 0)) AS geom) t`.execute(db);
    nativeMvt = true;
  } catch {
    nativeMvt = false;
  }
  return { postgres: rows[0].postgres, postgis: rows[0].postgis, nativeMvt };
}
