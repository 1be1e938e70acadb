import type { TestProject } from 'vitest/node';
import { startEmbeddedDatabase } from '../../server/src/db/embedded.js';
import { openDatabase } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { tempDir } from './database.js';

/**
 * Without TEST_DATABASE_URL the database tests run on one embedded PGlite started here
 * (it takes ~20 s to initialise, too slow to repeat per file).
 */
export default async function setup(project: TestProject) {
  if (process.env.TEST_DATABASE_URL) {
    console.log(`[tests] database tests use the PostgreSQL server at TEST_DATABASE_URL`);
    return;
  }
  console.log('[tests] TEST_DATABASE_URL not set: database tests use the embedded PGlite database');
  const embedded = await startEmbeddedDatabase(tempDir('embedded-tests'), { kind: 'tests' });
  const database = await openDatabase({ databaseUrl: embedded.url, dataDir: '' });
  await migrateToLatest(database.db);
  await database.close();
  project.provide('embeddedUrl', embedded.url);
  return async () => {
    await embedded.close();
  };
}
