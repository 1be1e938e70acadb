import crypto from 'node:crypto';
import { generate } from '@wangge/geo-data';
import { openDatabase, probeCapabilities, type Database } from '../../server/src/db/database.js';
import { migrateToLatest } from '../../server/src/db/migrate.js';
import { createUser } from '../../server/src/modules/users/users.service.js';
import { startServerProcess } from '../support/server-process.js';
import { tempDir } from '../support/database.js';
import { ensureDatabase } from './database.js';
import { TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { tileQuery } from '../../server/src/modules/tiles/tiles.query.js';
import { tileAt } from '../api/tiles-fixtures.js';
import { fmt, httpGet, median, percentile, printTable, timed, type Row } from './stats.js';

const MAP_LAYERS: TileLayerId[] = ['buildings', 'grids', 'roads', 'incidents'];
const WARM_ROUNDS = 3;
const CONCURRENCY = 8;
const SIZE_CAP = 500 * 1024;

/**
 * Tiles: the endpoint over HTTP vs the same SQL through `pg`, tile by tile in one run.
 * Cold = our tile cache has not seen the tile (PostgreSQL's own buffers are warm for both);
 * warm = the same tiles again. Sizes: every z12–z16 tile over the centre of the data, all layers.
 */
export async function benchTiles(database: Database, origin: string, cookie: string): Promise<Row[]> {
  const { rows } = await database.pool.query<{ x1: number; y1: number; x2: number; y2: number }>(
    'SELECT ST_XMin(e) x1, ST_YMin(e) y1, ST_XMax(e) x2, ST_YMax(e) y2 FROM (SELECT ST_Extent(geom) e FROM grids) s',
  );
  const { x1, y1, x2, y2 } = rows[0];
  const [cx, cy] = [(x1 + x2) / 2, (y1 + y2) / 2];
  const { nativeMvt: native } = await probeCapabilities(database.db);

  // A fixed set: a 3×3 block of tiles at the centre for each zoom 12–16, for each map layer.
  const set: { layer: TileLayerId; z: number; x: number; y: number }[] = [];
  for (let z = 12; z <= 16; z++) {
    const { x: tx, y: ty } = tileAt(cx, cy, z);
    for (const layer of MAP_LAYERS) for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) set.push({ layer, z, x: tx + dx, y: ty + dy });
  }
  const runRaw = async (t: (typeof set)[number]) => {
    const q = tileQuery(t.layer, t.z, t.x, t.y, { native });
    if (q) await database.pool.query(q.text, q.values);
  };
  const runHttp = (t: (typeof set)[number]) => httpGet(`${origin}/tiles/${t.layer}/${t.z}/${t.x}/${t.y}`, { 'accept-encoding': 'gzip', cookie });

  for (const t of set) await runRaw(t); // warm PostgreSQL's buffers for both sides
  // Throughput with CONCURRENCY requests in flight on each side (the pool has as many connections).
  const raw = await throughput(set, runRaw);
  const cold = await throughput(set, runHttp);
  const warmSet = Array.from({ length: WARM_ROUNDS }, () => set).flat();
  const rawAgain = await throughput(warmSet, runRaw);
  const warm = await throughput(warmSet, runHttp);

  // Sizes over every tile of a wider block, all layers, z12–z16.
  const sizes: Record<string, number[]> = {};
  for (let z = 12; z <= 16; z++) {
    const { x: tx, y: ty } = tileAt(cx, cy, z);
    const r = z <= 13 ? 2 : 3;
    for (const layer of TILE_LAYER_IDS) {
      for (let dx = -r; dx <= r; dx++) {
        for (let dy = -r; dy <= r; dy++) {
          const q = tileQuery(layer, z, tx + dx, ty + dy, { native: true });
          if (!q || !native) continue;
          const { rows: out } = await database.pool.query<{ mvt: Buffer | null }>(q.text, q.values);
          (sizes[layer] ??= []).push(out[0]?.mvt?.length ?? 0);
        }
      }
    }
  }

  const rowsOut: Row[] = [
    {
      what: `tiles cold: ${set.length} tiles (z12–16 × ${MAP_LAYERS.join('/')})`,
      ours: `${fmt(cold.perSecond)} tiles/s (p95 ${fmt(percentile(cold.latencies, 95))} ms)`,
      baseline: `${fmt(raw.perSecond)} tiles/s (p95 ${fmt(percentile(raw.latencies, 95))} ms)`,
      ratio: `${fmt(cold.perSecond / raw.perSecond, 2)}`,
      note: `target ≥ 0.8; ${CONCURRENCY} in flight; ${native ? 'ST_AsMVT' : 'Node encoder'}`,
    },
    {
      what: `tiles warm cache: same tiles × ${WARM_ROUNDS}`,
      ours: `${fmt(warm.perSecond)} tiles/s (p50 ${fmt(median(warm.latencies), 2)} ms)`,
      baseline: `${fmt(rawAgain.perSecond)} tiles/s (p50 ${fmt(median(rawAgain.latencies), 2)} ms)`,
      ratio: `${fmt(warm.perSecond / rawAgain.perSecond, 2)}`,
      note: 'target ≥ 5',
    },
  ];
  for (const layer of TILE_LAYER_IDS) {
    const s = sizes[layer] ?? [];
    if (!s.length) continue;
    const max = Math.max(...s);
    rowsOut.push({
      what: `tile size ${layer} (z${Math.max(12, TILE_LAYERS[layer].minzoom)}–16, ${s.length} tiles)`,
      ours: `max ${fmt(max / 1024)} kB`,
      baseline: `p95 ${fmt(percentile(s, 95) / 1024)} kB`,
      ratio: `${fmt((100 * max) / SIZE_CAP, 0)}% of cap`,
      note: max > SIZE_CAP ? 'OVER 500 kB' : 'under 500 kB',
    });
  }
  rowsOut.push(...(await benchTilesOneAtATime()));
  return rowsOut;
}

/** Per-tile costs, one request at a time, on the demo preset (BENCH_DATABASE_URL + `_demo`). */
const ONE_AT_A_TIME_CACHED_ROUNDS = 3;

/**
 * One tile at a time on the demo preset: for every z12–16 tile of the data (map layers), the raw
 * SQL through `pg` (ST_AsMVT, or the Node encoder's rows), our endpoint cold (first request of
 * the tile: read, ETag, gzip) and cached (the same tile again, ×3), in one run; the order of raw
 * and cold alternates tile by tile, PostgreSQL's buffers are warmed first. Ratios are
 * throughputs: raw time / our time (so > 1 means faster than running the SQL). Runs its own API
 * process on the demo database (generated when missing).
 */
export async function benchTilesOneAtATime(): Promise<Row[]> {
  const url = new URL(process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wangge_bench');
  url.pathname = `${url.pathname}_demo`;
  await ensureDatabase(url.toString());
  const database = await openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 2 });
  try {
    await migrateToLatest(database.db);
    if ((await database.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grids')).rows[0].n < 60) {
      console.log('[bench] generating preset demo for the one-at-a-time tiles …');
      await generate(database.pool, { preset: 'demo', seed: 1 });
      await database.pool.query('VACUUM ANALYZE');
    }
    const { nativeMvt: native } = await probeCapabilities(database.db);
    const { rows } = await database.pool.query<{ x1: number; y1: number; x2: number; y2: number }>(
      'SELECT ST_XMin(e) x1, ST_YMin(e) y1, ST_XMax(e) x2, ST_YMax(e) y2 FROM (SELECT ST_Extent(geom) e FROM grids) s',
    );
    const { x1, y1, x2, y2 } = rows[0];
    const set: { layer: TileLayerId; z: number; x: number; y: number }[] = [];
    for (let z = 12; z <= 16; z++) {
      const a = tileAt(x1, y2, z);
      const b = tileAt(x2, y1, z);
      for (let x = a.x; x <= b.x; x++) for (let y = a.y; y <= b.y; y++) for (const layer of MAP_LAYERS) set.push({ layer, z, x, y });
    }
    // A fixed shuffle (zooms and layers mixed, the same order every run).
    let seed = 42;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let i = set.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [set[i], set[j]] = [set[j], set[i]];
    }
    const server = await startServerProcess(tempDir('bench-tiles-one'), {
      DATABASE_URL: url.toString(), SEED_DEMO: 'false', DEMO_SIMULATE: 'false', WARM_ROUTING_GRAPH: 'false', LOG_LEVEL: 'warn',
    });
    try {
      const username = `bench-${crypto.randomBytes(4).toString('hex')}`;
      const password = crypto.randomBytes(16).toString('base64url');
      await createUser(database.db, { username, password, role: 'admin', areaCode: '*' });
      const res = await fetch(`${server.base}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
      if (!res.ok) throw new Error(`bench sign-in failed: ${res.status}`);
      const cookie = res.headers.getSetCookie()[0].split(';')[0];
      const raw = (t: (typeof set)[number]) => {
        const q = tileQuery(t.layer, t.z, t.x, t.y, { native });
        return q ? database.pool.query(q.text, q.values) : Promise.resolve();
      };
      const ours = (t: (typeof set)[number]) => httpGet(`${server.base}/tiles/${t.layer}/${t.z}/${t.x}/${t.y}`, { 'accept-encoding': 'gzip', cookie });
      for (const t of set) await raw(t); // PostgreSQL's buffers warm for both sides
      // Connections and plans of the API (z11, a tile of neither set).
      for (let i = 0; i < 20; i++) await ours({ layer: 'grids', z: 11, x: tileAt(x1, y1, 11).x, y: tileAt(x1, y1, 11).y });
      const ms = { raw: [] as number[], cold: [] as number[], cached: [] as number[] };
      for (const [i, t] of set.entries()) {
        if (i % 2 === 0) {
          ms.raw.push(await timed(() => raw(t)));
          ms.cold.push(await timed(() => ours(t)));
        } else {
          ms.cold.push(await timed(() => ours(t)));
          ms.raw.push(await timed(() => raw(t)));
        }
        for (let r = 0; r < ONE_AT_A_TIME_CACHED_ROUNDS; r++) ms.cached.push(await timed(() => ours(t)));
      }
      const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
      const mean = (a: number[]) => sum(a) / a.length;
      const rawPerTile = mean(ms.raw);
      const line = (what: string, a: number[], target: string): Row => ({
        what: `${what}: ${set.length} tiles, one at a time (demo preset)`,
        ours: `${fmt(mean(a), 2)} ms/tile (p50 ${fmt(median(a), 2)})`,
        baseline: `raw ${native ? 'ST_AsMVT' : 'SQL rows'} ${fmt(rawPerTile, 2)} ms/tile (p50 ${fmt(median(ms.raw), 2)})`,
        ratio: fmt(rawPerTile / mean(a), 2),
        note: `throughput vs raw SQL; target ${target}; p50 ratio ${fmt(median(ms.raw) / median(a), 2)}`,
      });
      return [line('tile cold (first request)', ms.cold, '≥ 0.6'), line(`tile cached (×${ONE_AT_A_TIME_CACHED_ROUNDS})`, ms.cached, '≥ 2')];
    } finally {
      await server.stop();
    }
  } finally {
    await database.close();
  }
}

/** Runs `fn` over `items` with CONCURRENCY in flight; tiles per second and per-request latencies. */
async function throughput<T>(items: T[], fn: (item: T) => Promise<unknown>): Promise<{ perSecond: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < items.length) {
        const item = items[next++];
        latencies.push(await timed(() => fn(item)));
      }
    }),
  );
  return { perSecond: (1000 * items.length) / (performance.now() - t0), latencies };
}

// `tsx tests/bench/tiles.bench.ts`: the one-at-a-time figures alone (no city preset needed).
if (process.argv[1] && import.meta.filename === (await import('node:fs')).realpathSync(process.argv[1])) {
  printTable('Tiles one at a time (demo preset)', await benchTilesOneAtATime());
  process.exit(0);
}
