import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities, type Database } from '../../server/src/db/database.js';

/** The real application over a test database, without a web build and without logging. */
export async function buildTestApp(database: Database, opts: { webDist?: string; bodyLimitBytes?: number } = {}): Promise<FastifyInstance> {
  return buildApp({
    config: { bodyLimitBytes: opts.bodyLimitBytes ?? 1_000_000, webDist: opts.webDist ?? '/nonexistent', logLevel: 'warn' },
    database,
    capabilities: await probeCapabilities(database.db),
    logger: false,
  });
}
