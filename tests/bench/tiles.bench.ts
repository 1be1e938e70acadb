import { probeCapabilities, type Database } from '../../server/src/db/database.js';
import { TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { tileQuery } from '../../server/src/modules/tiles/tiles.query.js';
import { tileAt } from '../api/tiles-fixtures.js';
import { fmt, httpGet, median, percentile, timed, type Row } from './stats.js';

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
  return rowsOut;
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
