import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { postgis } from '@electric-sql/pglite-postgis';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/** A PGlite database with PostGIS, served over the PostgreSQL wire protocol on localhost. */
export interface EmbeddedDatabase {
  /** Connection string for the ordinary `pg` driver. */
  url: string;
  close(): Promise<void>;
}

/**
 * Starts PGlite in `dataDir` (created on first use) and exposes it on a loopback port so the
 * rest of the code talks to it through `pg` exactly as to an external server.
 * One process owns the folder.
 */
export async function startEmbeddedDatabase(dataDir: string, options: { port?: number } = {}): Promise<EmbeddedDatabase> {
  fs.mkdirSync(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir, extensions: { postgis } });
  await db.exec('CREATE EXTENSION IF NOT EXISTS postgis');
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: options.port ?? 0, maxConnections: 32 });
  await server.start();
  const port = await boundPort(server, options.port);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}

async function boundPort(server: PGLiteSocketServer, requested?: number): Promise<number> {
  // The socket server keeps its net.Server private; read the bound port from it.
  const inner = (server as unknown as { server?: { address(): { port: number } | string | null } }).server;
  const address = inner?.address();
  if (address && typeof address === 'object') return address.port;
  if (requested) return requested;
  throw new Error('embedded database: could not determine the listening port');
}
