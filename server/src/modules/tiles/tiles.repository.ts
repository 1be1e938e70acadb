import { CompiledQuery } from 'kysely';
import type pg from 'pg';
import type { Db } from '../../db/transaction.js';
import { TILE_LAYERS, type TileLayerId } from './tiles.layers.js';
import { tileQuery } from './tiles.query.js';
import { encodeTile, type TileRow } from './tiles.encode.js';

// Tile SQL is hand-written text (why: tiles.query.ts), so it goes through Kysely as compiled text,
// or, given the pool, through pg as a named statement, which Kysely cannot send.

/**
 * Reads one tile: encoded by PostGIS when `native`, else from rows in tile units encoded in Node.
 * An empty buffer means no feature (also outside the layer's zoom range). With `named` (the pool
 * of an external database) the statement runs named: each connection parses it once per layer and
 * band instead of for every tile (about a sixth of a tile's time on the demo preset). Not on the embedded
 * database: pglite-socket serves every connection on PGlite's one session, where a second
 * connection's PREPARE of the same name fails.
 */
export async function readTile(
  db: Db,
  layer: TileLayerId,
  z: number,
  x: number,
  y: number,
  native: boolean,
  scope = '*',
  named?: pg.Pool,
): Promise<Buffer> {
  const query = tileQuery(layer, z, x, y, { native, scope });
  if (!query) return Buffer.alloc(0);
  const run = async <R extends object>(): Promise<R[]> =>
    named
      ? (await named.query<R>({ name: query.name, text: query.text, values: query.values })).rows
      : (await db.executeQuery<R>(CompiledQuery.raw(query.text, query.values))).rows;
  if (query.output === 'native') {
    const rows = await run<{ mvt: Buffer | null }>();
    return rows[0]?.mvt ?? Buffer.alloc(0);
  }
  const rows = await run<TileRow>();
  if (rows.length === 0) return Buffer.alloc(0);
  const bytes = encodeTile(TILE_LAYERS[layer], rows);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export type LonLatBounds = [number, number, number, number];

/**
 * Extent of a layer's data (EPSG:4326) that `scope` ('*' or an area/grid code) may see, as its
 * tiles are cut (roads: all of them), or null when there is none.
 */
export async function layerBounds(db: Db, layer: TileLayerId, scope: string): Promise<LonLatBounds | null> {
  const { extent } = TILE_LAYERS[layer];
  const { rows } = await db.executeQuery<{ x1: number | null; y1: number; x2: number; y2: number }>(
    CompiledQuery.raw(extent.sql, extent.scoped ? [scope] : []),
  );
  const r = rows[0];
  return r && r.x1 !== null ? [r.x1, r.y1, r.x2, r.y2] : null;
}

/**
 * The grids' generation: how many plan versions have taken effect (migration 0018). Tile URLs of
 * the layers drawn from grids carry it, so a new plan's borders are new URLs: no cache, the
 * server's or the browser's, serves the old ones.
 */
export async function gridPlanGeneration(db: Db): Promise<number> {
  const row = await db.selectFrom('grid_plan_versions').select((eb) => eb.fn.countAll<number>().as('n')).where('applied_at', 'is not', null).executeTakeFirstOrThrow();
  return Number(row.n);
}
