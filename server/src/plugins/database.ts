import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Capabilities, Database, DatabaseMode } from '../db/database.js';
import type { DB } from '../db/types.js';

declare module 'fastify' {
  interface FastifyInstance {
    db: Kysely<DB>;
    pool: pg.Pool;
    databaseMode: DatabaseMode;
    /** Embedded mode: every NOTIFY of the database, whoever committed it (db/embedded.ts). */
    databaseNotifications: Database['onNotification'];
    capabilities: Capabilities;
  }
}

/** Exposes the (already opened and probed) database to routes. The caller owns its lifetime. */
export default fp(
  async function database(app: FastifyInstance, opts: { database: Database; capabilities: Capabilities }) {
    app.decorate('db', opts.database.db);
    app.decorate('pool', opts.database.pool);
    app.decorate('databaseMode', opts.database.mode);
    app.decorate('databaseNotifications', opts.database.onNotification);
    app.decorate('capabilities', opts.capabilities);
  },
  { name: 'database' },
);
