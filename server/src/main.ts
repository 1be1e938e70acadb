import fs from 'node:fs';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { loadConfig, ConfigError } from './config.js';
import { openDatabase, probeCapabilities, type Database } from './db/database.js';
import { DataDirOwnedError } from './db/data-lock.js';
import { migrateToLatest } from './db/migrate.js';
import { buildApp } from './app.js';
import { demoAccountsFrame, seedDemoIfEmpty } from './seed.js';
import { isDatabaseUnavailable } from './plugins/errors.js';
import { startDemoSimulator, type Simulator } from './demo/simulator.js';

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

/** What is open, for the shutdown: filled in as the start goes. */
const running: { database?: Database; app?: FastifyInstance; simulator?: Simulator } = {};
let stopping = false;
let stoppingSince = 0;
/** Signals this close together are one (see shutdown). */
const SAME_SIGNAL_MS = 500;

/** Open connections (a stalled upload, a slow reader) get this long after the listener closes. */
const CLOSE_GRACE_MS = 3000;
/** A shutdown that takes longer than this ends the process anyway. */
const SHUTDOWN_LIMIT_MS = 10_000;

/**
 * SIGINT (Ctrl-C) or SIGTERM: stop the simulator, close the server (its live streams first, then
 * whatever connections are left after CLOSE_GRACE_MS) and the database; one line, exit code 0. A
 * second signal exits at once (130). Also during the start: what is open is closed.
 */
async function shutdown(signal: string): Promise<void> {
  if (stopping) {
    // `pnpm start` passes the terminal's Ctrl-C on to the server, which has it from the terminal
    // too: a second signal within moments is that copy, not a second Ctrl-C.
    if (Date.now() - stoppingSince < SAME_SIGNAL_MS) return;
    console.log(`[wangge] ${signal} again: exiting without waiting`);
    process.exit(130);
  }
  stopping = true;
  stoppingSince = Date.now();
  console.log(`[wangge] ${signal}: shutting down${signal === 'SIGINT' ? ' (Ctrl-C again to exit at once)' : ''}`);
  setTimeout(() => {
    console.log(`[wangge] shutdown took longer than ${SHUTDOWN_LIMIT_MS / 1000} s: exiting`);
    process.exit(1);
  }, SHUTDOWN_LIMIT_MS).unref();
  try {
    await running.simulator?.stop();
    if (running.app) {
      const app = running.app;
      const grace = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
      grace.unref();
      await app.close();
      clearTimeout(grace);
    }
    await running.database?.close();
  } catch (err) {
    console.log(`[wangge] shutdown: ${(err as Error).message}`);
    process.exit(1);
  }
  process.exit(0);
}

async function main() {
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  const config = loadConfig();
  const started = Date.now();
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  running.database = database;
  if (stopping) return; // a signal came while the database opened: shutdown() closes it
  console.log(`[wangge] database: ${database.mode}${database.mode === 'embedded' ? ` in ${config.dataDir}` : ''}`);
  const applied = await waitForDatabase(() => migrateToLatest(database.db));
  if (applied.length) console.log(`[wangge] migrations applied: ${applied.join(', ')}`);
  // Demo accounts only on the embedded demo; an external database gets its first admin from the CLI.
  const demoUsersFile = database.mode === 'embedded' ? path.join(config.dataDir, 'demo-users.txt') : undefined;
  const seeded = config.seedDemo ? await seedDemoIfEmpty(database, { demoUsersFile }) : false;
  const capabilities = await probeCapabilities(database.db);
  const app = await buildApp({ config, database, capabilities, command: config.command, live: config.live });
  running.app = app;
  if (stopping) return;
  await app.listen({ port: config.port, host: config.host });
  const { port } = app.server.address() as AddressInfo;
  if (config.simulateDemo) {
    running.simulator = startDemoSimulator({
      db: database.db, pool: database.pool, command: config.command, wake: () => app.live.wake(), log: (m) => app.log.warn(m),
    });
    console.log('[wangge] demo simulator: generated responders move every 30 s; reports come in and incidents are worked at a realistic pace (DEMO_SIMULATE=false to stop)');
  }
  // The logger writes synchronously (logging.ts): the ready line and the demo accounts are the last thing on screen.
  const url = `http://localhost:${port}/`;
  const ready = `[wangge] ready in ${((Date.now() - started) / 1000).toFixed(1)} s — open ${url}`;
  // One write: the ready line and the frame arrive together.
  const frame = demoUsersFile && fs.existsSync(demoUsersFile) ? `\n${demoAccountsFrame(demoUsersFile, { created: seeded, url })}` : '';
  console.log(`${ready}${frame}`);
}

main().catch((err) => {
  // Closing the database under a start that a signal interrupted fails it: shutdown() ends the process.
  if (stopping) return;
  if (err instanceof ConfigError) console.error(`[wangge] configuration error: ${err.message}`);
  else if (err instanceof DataDirOwnedError) console.error(`[wangge] cannot start: ${err.message}`);
  else console.error(err);
  process.exit(1);
});
