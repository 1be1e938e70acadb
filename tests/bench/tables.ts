import crypto from 'node:crypto';
import { openDatabase, type Database } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/database.js';
import { generate } from '@wangge/geo-data';
import { createUser } from '../../server/src/modules/users/users.service.js';
import { fmt, printTable, type Row } from './stats.js';
import { consoleProgress } from '../../server/src/seed.js';
import { ensureDatabase } from './database.js';
// Each benchmark module is imported when its table is selected (BENCH_ONLY), so one that does not
// load (e.g. mid-refactor) does not stop the others.

/**
 * `pnpm bench` without BENCH_BASELINE_DIR (see run.ts): side-by-side figures on the city preset
 * (and the demo preset for the browser). Nothing here asserts; machines are noisy, so every figure
 * that matters is a ratio measured in the same run against its baseline (raw SQL, a bare server…).
 */
const baseUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wangge_bench';
const only = new Set((process.env.BENCH_ONLY ?? 'tiles,collections,candidates,intake,kpi,planner,sse,login,map,embedded').split(','));


/** Opens a benchmark database holding `preset`, generating it (timed) when it is not there yet. */
async function presetDatabase(url: string, preset: 'city' | 'demo', minGrids: number): Promise<{ database: Database; generatedSeconds?: number }> {
  await ensureDatabase(url);
  const database = await openDatabase({ databaseUrl: url, dataDir: '', poolSize: 8 });
  await migrateToLatest(database.db);
  const { rows } = await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grids');
  if (rows[0].n >= minGrids && !process.env.BENCH_REGENERATE) return { database };
  console.log(`[bench] generating preset ${preset} in ${new URL(url).pathname.slice(1)} …`);
  const t0 = performance.now();
  await generate(database.pool, { preset, seed: 1, onProgress: consoleProgress(`generate ${preset}`) });
  await database.pool.query('VACUUM ANALYZE');
  return { database, generatedSeconds: (performance.now() - t0) / 1000 };
}

/** A fresh admin account of the whole installation, signed in over HTTP: the Cookie header. */
async function benchSession(database: Database, origin: string): Promise<string> {
  const username = `bench-${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(16).toString('base64url');
  await createUser(database.db, { username, password, role: 'admin', areaCode: '*' });
  const res = await fetch(`${origin}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  if (!res.ok) throw new Error(`bench sign-in failed: ${res.status}`);
  return res.headers.getSetCookie()[0].split(';')[0];
}

async function main() {
  const startupRows: Row[] = [];
  const mapRows: Row[] = [];
  const { database, generatedSeconds } = await presetDatabase(baseUrl, 'city', 2000);
  startupRows.push({
    what: 'generate --preset city (external PostGIS)',
    ours: generatedSeconds === undefined ? 'reused' : `${fmt(generatedSeconds)} s`,
    baseline: '',
    ratio: '',
    note: generatedSeconds === undefined ? 'set BENCH_REGENERATE=1 to time it' : '',
  });
  const counts = (await database.pool.query(
    `SELECT (SELECT count(*) FROM grids)::int AS grids, (SELECT count(*) FROM buildings)::int AS buildings,
            (SELECT count(*) FROM responders)::int AS responders, (SELECT count(*) FROM incidents)::int AS incidents`,
  )).rows[0];
  console.log(`[bench] city preset: ${JSON.stringify(counts)}`);

  // The API runs as its own process, as in production, so the load generator here does not share its event loop.
  const server = await startServerProcess(tempDir('bench-server'), { DATABASE_URL: baseUrl, SEED_DEMO: 'false', LOG_LEVEL: 'warn' });
  try {
    const cookie = await benchSession(database, server.base);
    if (only.has('tiles')) printTable('Tiles (city preset, z12–z16, one run, side by side)', await (await import('./tiles.bench.js')).benchTiles(database, server.base, cookie));
    if (only.has('collections')) printTable('Collections (city preset)', await (await import('./collections.bench.js')).benchCollections(database, server.base, cookie));
    if (only.has('candidates')) printTable('Nearest responders (city preset)', await (await import('./candidates.bench.js')).benchCandidates(server.base, cookie, database));
    if (only.has('intake')) printTable('Incident intake under load (city preset)', await (await import('./intake.bench.js')).benchIntake(server.base, cookie, database.pool));
    if (only.has('kpi')) printTable('Department scores (city preset)', await (await import('./kpi.bench.js')).benchKpi(database, server.base, cookie));
    if (only.has('planner')) printTable('Grid planner (city preset)', await (await import('./planner.bench.js')).benchPlanner(database, server.base, cookie));
    if (only.has('map')) mapRows.push(...(await (await import('./map-idle.bench.js')).benchMapIdle(database, 'city')));
  } finally {
    await server.stop();
    await database.close();
  }

  if (only.has('map')) {
    const demoUrl = new URL(baseUrl);
    demoUrl.pathname = `${demoUrl.pathname}_demo`;
    const demo = await presetDatabase(demoUrl.toString(), 'demo', 60);
    try {
      mapRows.unshift(...(await (await import('./map-idle.bench.js')).benchMapIdle(demo.database, 'demo')));
    } finally {
      await demo.database.close();
    }
    printTable('The command map against a bare MapLibre page (same tiles, same view; 1920×1080, software WebGL)', mapRows);
  }
  if (only.has('sse')) {
    const sseUrl = new URL(baseUrl);
    sseUrl.pathname = `${sseUrl.pathname}_sse`;
    printTable('Live stream fan-out (1,000 SSE clients)', await (await import('./sse.bench.js')).benchSse(sseUrl.toString(), { clients: 1000, rounds: 20 }));
  }
  if (only.has('login')) printTable('Sign-in', await (await import('./login.bench.js')).benchLoginWork());
  if (only.has('embedded')) startupRows.push(...(await (await import('./embedded-start.bench.js')).benchEmbeddedStart()));
  printTable('Start-up and rendering', startupRows);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
