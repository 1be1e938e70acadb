import type { FastifyInstance } from 'fastify';
import { probeCapabilities, type Database } from '../../server/src/db/database.js';
import { TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { tileQuery } from '../../server/src/modules/tiles/tiles.query.js';
import { fmt, median, percentile, timed, type Row } from './stats.js';

const MAP_LAYERS: TileLayerId[] = ['buildings', 'grids', 'roads', 'incidents'];
const WARM_ROUNDS = 3;
const SIZE_CAP = 500 * 1024;

export function lonLatToTile(lon: number, lat: number, z: number): [number, number] {
  const n = 2 ** z;
  const r = (lat * Math.PI) / 180;
  return [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n)];
}

/**
 * Tiles: the endpoint over HTTP vs the same SQL through `pg`, tile by tile in one run.
 * Cold = our tile cache has not seen the tile (PostgreSQL's own buffers are warm for both);
 * warm = the same tiles again. Sizes: every z12–z16 tile over the centre of the data, all layers.
 */
export async function benchTiles(_app: FastifyInstance, database: Database, origin: string): Promise<Row[]> {
  const { rows } = await database.pool.query<{ x1: number; y1: number; x2: number; y2: number }>(
    'SELECT ST_XMin(e) x1, ST_YMin(e) y1, ST_XMax(e) x2, ST_YMax(e) y2 FROM (SELECT ST_Extent(geom) e FROM grids) s',
  );
  const { x1, y1, x2, y2 } = rows[0];
  const [cx, cy] = [(x1 + x2) / 2, (y1 + y2) / 2];
  const { nativeMvt: native } = await probeCapabilities(database.db);

  // A fixed set: a 3×3 block of tiles at the centre for each zoom 12–16, for each map layer.
  const set: { layer: TileLayerId; z: number; x: number; y: number }[] = [];
  for (let z = 12; z <= 16; z++) {
    const [tx, ty] = lonLatToTile(cx, cy, z);
    for (const layer of MAP_LAYERS) for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) set.push({ layer, z, x: tx + dx, y: ty + dy });
  }
  const runRaw = async (t: (typeof set)[number]) => {
    const q = tileQuery(t.layer, t.z, t.x, t.y, { native });
    if (q) await database.pool.query(q.text, q.values);
  };
  const runHttp = async (t: (typeof set)[number]) => (await fetch(`${origin}/tiles/${t.layer}/${t.z}/${t.x}/${t.y}`)).arrayBuffer();

  for (const t of set) await runRaw(t); // warm PostgreSQL's buffers for both sides
  const raw: number[] = [];
  const cold: number[] = [];
  for (const t of set) {
    raw.push(await timed(() => runRaw(t)));
    cold.push(await timed(() => runHttp(t)));
  }
  const warm: number[] = [];
  const rawAgain: number[] = [];
  for (let round = 0; round < WARM_ROUNDS; round++) {
    for (const t of set) {
      rawAgain.push(await timed(() => runRaw(t)));
      warm.push(await timed(() => runHttp(t)));
    }
  }
  const sum = (a: number[]) => a.reduce((s, v) => s + v, 0);
  const tput = (a: number[]) => (1000 * a.length) / sum(a);

  // Sizes over every tile of a wider block, all layers, z12–z16.
  const sizes: Record<string, number[]> = {};
  for (let z = 12; z <= 16; z++) {
    const [tx, ty] = lonLatToTile(cx, cy, z);
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
      ours: `${fmt(tput(cold))} tiles/s (p95 ${fmt(percentile(cold, 95))} ms)`,
      baseline: `${fmt(tput(raw))} tiles/s (p95 ${fmt(percentile(raw, 95))} ms)`,
      ratio: `${fmt(tput(cold) / tput(raw), 2)}`,
      note: `target ≥ 0.8; ${native ? 'ST_AsMVT' : 'Node encoder'}`,
    },
    {
      what: `tiles warm cache: same tiles × ${WARM_ROUNDS}`,
      ours: `${fmt(tput(warm))} tiles/s (p50 ${fmt(median(warm), 2)} ms)`,
      baseline: `${fmt(tput(rawAgain))} tiles/s (p50 ${fmt(median(rawAgain), 2)} ms)`,
      ratio: `${fmt(tput(warm) / tput(rawAgain), 2)}`,
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
