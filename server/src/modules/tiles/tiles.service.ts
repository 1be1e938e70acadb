import crypto from 'node:crypto';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import type pg from 'pg';
import type { Db } from '../../db/transaction.js';
import { layerAttributions } from '../collections/attribution.repository.js';
import { TileCache, type CachedTile } from './tiles.cache.js';
import { TILE_LAYERS, type TileLayerId } from './tiles.layers.js';
import { gridPlanGeneration, layerBounds, readTile, type LonLatBounds } from './tiles.repository.js';
import type { TileAddress } from './tiles.address.js';

const gzip = promisify(zlib.gzip);

/** Tiles smaller than this go out uncompressed (gzip would save next to nothing). */
const GZIP_MIN_BYTES = 1024;
/** Level 1: about two thirds of the default level's time for a few per cent more bytes (measured on the demo preset). */
const GZIP_OPTIONS: zlib.ZlibOptions = { level: 1 };
/** Small tiles are compressed at once (the thread-pool round trip costs more than the work). */
const GZIP_SYNC_MAX_BYTES = 32 * 1024;
const WORLD: LonLatBounds = [-180, -85.051129, 180, 85.051129];
/** Layers drawn from the grids in force: their tile URLs carry the grids' generation (a plan taking effect changes it). */
export const PLANNED_LAYERS: ReadonlySet<TileLayerId> = new Set(['grids', 'grid-labels']);

/**
 * The Cache-Control of tiles and TileJSON, decided here only. Every tile is cut to the signed-in
 * user's area, so no shared cache may keep one.
 */
export function tileCacheControl(): string {
  return 'private, max-age=60';
}

export interface TileServiceOptions {
  db: Db;
  /** PostGIS encodes tiles (ST_AsMVT); otherwise Node does. */
  nativeMvt: boolean;
  /** The pool of an external database: tile statements run named (tiles.repository.ts readTile). */
  namedStatements?: pg.Pool;
  cacheBytes?: number;
  cacheTtlMs?: number;
}

export type TileService = ReturnType<typeof createTileService>;

/** Reads tiles through the cache and describes layers as TileJSON. */
export function createTileService(opts: TileServiceOptions) {
  const cache = new TileCache(opts.cacheBytes ?? 64 * 1024 * 1024, opts.cacheTtlMs ?? 30_000);
  /** TileJSON facts, a minute old at most, by `layer|scope` (scope '' for an unscoped layer). */
  const described = new Map<string, { at: number; bounds: LonLatBounds | null; attribution: string[] }>();

  /**
   * One tile as cached bytes (empty when it has no feature), cut to `scope` ('*' or an area/grid
   * code); tiles of different scopes never share a cache entry.
   */
  async function getTile(layer: TileLayerId, { z, x, y }: TileAddress, scope: string, generation?: number): Promise<CachedTile> {
    const address = `${layer}/${z}/${x}/${y}`;
    // The grids' generation in the key: a new plan's tiles are new entries (the URL's `v`).
    return cache.getOrFill(`${address}|${scope}|${generation ?? ''}`, async () => {
      try {
        return await prepare(await readTile(opts.db, layer, z, x, y, opts.nativeMvt, scope, opts.namedStatements));
      } catch (err) {
        throw whileReading(address, err);
      }
    });
  }

  /**
   * The TileJSON of `layer` for a viewer of `scope`: its bounds are the extent of what that viewer's
   * tiles show (as the collections' extents are), the world when there is nothing; tile URLs start
   * at `baseUrl` (app.linkBase, never the request's Host).
   */
  async function tileJson(layer: TileLayerId, baseUrl: string, scope: string) {
    const def = TILE_LAYERS[layer];
    const key = `${layer}|${def.extent.scoped ? scope : ''}`;
    let facts = described.get(key);
    if (!facts || Date.now() - facts.at > 60_000) {
      const [bounds, attribution] = await Promise.all([layerBounds(opts.db, layer, scope), layerAttributions(opts.db, layer)]);
      facts = { at: Date.now(), bounds, attribution };
      if (described.size >= 10_000) described.clear();
      described.set(key, facts);
    }
    const bounds = facts.bounds ?? WORLD;
    return {
      tilejson: '3.0.0' as const,
      name: def.id,
      description: def.description,
      version: '1.0.0',
      scheme: 'xyz' as const,
      tiles: [`${baseUrl}/tiles/${def.id}/{z}/{x}/{y}${PLANNED_LAYERS.has(layer) ? `?v=${await gridPlanGeneration(opts.db)}` : ''}`],
      minzoom: def.minzoom,
      maxzoom: def.maxzoom,
      bounds,
      center: centre(bounds, def.minzoom, def.maxzoom),
      vector_layers: [{ id: def.id, description: def.description, fields: def.fields, minzoom: def.minzoom, maxzoom: def.maxzoom }],
      // Required by imported data still held (e.g. "© OpenStreetMap contributors"), as collections report it.
      ...(facts.attribution.length ? { attribution: facts.attribution.join('; ') } : {}),
    };
  }

  return { getTile, tileJson, cache };
}

async function prepare(bytes: Buffer): Promise<CachedTile> {
  if (bytes.length === 0) return { bytes };
  const hash = crypto.createHash('sha256').update(bytes).digest('base64url').slice(0, 32);
  const tile: CachedTile = { bytes, etag: `"${hash}"` };
  if (bytes.length >= GZIP_MIN_BYTES) {
    tile.gzip = bytes.length <= GZIP_SYNC_MAX_BYTES ? zlib.gzipSync(bytes, GZIP_OPTIONS) : await gzip(bytes, GZIP_OPTIONS);
    tile.gzipEtag = `"${hash}-gz"`;
  }
  return tile;
}

/** The error, renamed after what was being attempted; its code survives so 503 detection still works. */
function whileReading(address: string, err: unknown): Error {
  const cause = err as { code?: unknown; message?: unknown };
  const wrapped = new Error(`while reading tile ${address}: ${String(cause?.message ?? err)}`, { cause: err });
  return Object.assign(wrapped, { code: cause?.code });
}

/** Centre of the bounds, at the zoom where they span about one tile, within the layer's range. */
function centre(b: LonLatBounds, minzoom: number, maxzoom: number): [number, number, number] {
  const span = Math.max(b[2] - b[0], b[3] - b[1], 1e-9);
  const fit = Math.floor(Math.log2(360 / span));
  return [(b[0] + b[2]) / 2, (b[1] + b[3]) / 2, Math.min(maxzoom, Math.max(minzoom, fit))];
}
