import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { loadConfig, ConfigError } from './config.js';
import { openDatabase, probeCapabilities } from './db/database.js';
import { DataDirOwnedError } from './db/data-lock.js';
import { migrateToLatest } from './db/migrate.js';
import { buildApp } from './app.js';
import { seedDemoIfEmpty } from './seed.js';
import { isDatabaseUnavailable } from './plugins/errors.js';
import { startDemoSimulator } from './demo/simulator.js';

/** At start an external database may still be coming up: retry with backoff for up to a minute. */
async function waitForDatabase<T>(fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (let delay = 500; ; delay = Math.min(delay * 2, 5000)) {
    try {
      return await fn();
    } catch (err) {
      if (!isDatabaseUnavailable(err) || Date.now() > deadline) throw err;
      console.log(`[wangge] database not reachable yet (${(err as Error).message}); retrying in ${delay} ms`);
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}

async function main() {
  const config = loadConfig();
  const started = Date.now();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  console.log(`[wangge] database: ${database.mode}${database.mode === 'embedded' ? ` in ${config.dataDir}` : ''}`);
  const applied = await waitForDatabase(() => migrateToLatest(database.db));
  if (applied.length) console.log(`[wangge] migrations applied: ${applied.join(', ')}`);
  if (config.seedDemo) {
    // Demo accounts only on the embedded demo; an external database gets its first admin from the CLI.
    const demoUsersFile = database.mode === 'embedded' ? path.join(config.dataDir, 'demo-users.txt') : undefined;
    await seedDemoIfEmpty(database, { demoUsersFile });
  }
  const capabilities = await probeCapabilities(database.db);
  const app = await buildApp({ config, database, capabilities, command: config.command, live: config.live });
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  console.log(`[wangge] ready in ${((Date.now() - started) / 1000).toFixed(1)} s — open http://localhost:${port}/`);
  const simulator = config.simulateDemo
    ? startDemoSimulator({ db: database.db, wake: () => app.live.wake(), log: (m) => app.log.warn(m) })
    : undefined;
  if (simulator) console.log('[wangge] demo simulator: generated responders report a position every 30 s (DEMO_SIMULATE=false to stop)');

  const shutdown = async (signal: string) => {
    console.log(`[wangge] ${signal}: shutting down`);
    await simulator?.stop();
    await app.close();
    await database.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err) => {
  if (err instanceof ConfigError) console.error(`[wangge] configuration error: ${err.message}`);
  else if (err instanceof DataDirOwnedError) console.error(`[wangge] cannot start: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
