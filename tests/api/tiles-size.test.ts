import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { readTile } from '../../server/src/modules/tiles/tiles.repository.js';
import { TILE_EXTENT, TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { CENTRE, TILE_SOURCES, decodeTile, insertSyntheticCity, tileAt, type CityScale } from './tiles-fixtures.js';

/**
 * A small district with a city's core density (the dense core of the city preset: ~6,000 buildings
 * in a z14 tile), so that generalisation and the size bound are exercised in both database modes.
 */
const DENSE: CityScale = {
  widthKm: 4, heightKm: 3, gridCols: 20, gridRows: 20, buildings: 30_000, incidents: 20_000, responders: 4_000, roadSpacingM: 100,
};
const MAX_TILE_BYTES = 500 * 1024;

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSyntheticCity(database.pool, DENSE);
  app = await buildTestApp(database);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

/** The tile at the dense core and, with `ring`, its eight neighbours. */
function coreTiles(z: number, ring = false) {
  const c = tileAt(CENTRE.lon, CENTRE.lat, z);
  if (!ring) return [c];
  const out = [];
  for (let dx = -1; dx <= 1; dx++) for (let dy = -1; dy <= 1; dy++) out.push({ z, x: c.x + dx, y: c.y + dy });
  return out;
}

function zooms(layer: TileLayerId): number[] {
  const def = TILE_LAYERS[layer];
  const out = [];
  for (let z = Math.max(def.minzoom, 8); z <= def.maxzoom; z++) out.push(z);
  return out;
}

async function count(layer: TileLayerId, z: number, x: number, y: number): Promise<number> {
  const { table, geom } = TILE_SOURCES[layer];
  const { rows } = await database.pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM ${table} t WHERE ST_Intersects(${geom}, ST_TileEnvelope($1::int, $2::int, $3::int, margin => $4::float8))`,
    [z, x, y, TILE_LAYERS[layer].bufferUnits / TILE_EXTENT],
  );
  return rows[0].n;
}

describe('tiles of a dense district', () => {
  it('no tile of any layer at any zoom exceeds 500 kB', async () => {
    for (const layer of TILE_LAYER_IDS) {
      for (const z of zooms(layer)) {
        for (const t of coreTiles(z, z >= 13)) {
          const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
          expect([200, 204]).toContain(res.statusCode);
          expect(res.rawPayload.length, `${layer}/${t.z}/${t.x}/${t.y}`).toBeLessThanOrEqual(MAX_TILE_BYTES);
        }
      }
    }
  });

  it('at the maximum zoom, the densest tiles are complete', async () => {
    for (const layer of TILE_LAYER_IDS) {
      for (const t of coreTiles(TILE_LAYERS[layer].maxzoom, true)) {
        const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
        const features = res.statusCode === 204 ? [] : decodeTile(res.rawPayload)[layer];
        expect(features.length, `${layer}/${t.z}/${t.x}/${t.y}`).toBe(await count(layer, t.z, t.x, t.y));
        expect(new Set(features.map((f) => f.properties.id)).size).toBe(features.length);
      }
    }
  });

  it('lower zooms hold fewer features than the data under them', async () => {
    const features = async (layer: TileLayerId, z: number) => {
      const { x, y } = coreTiles(z)[0];
      const res = await app.inject(`/tiles/${layer}/${z}/${x}/${y}`);
      return { features: decodeTile(res.rawPayload)[layer], under: await count(layer, z, x, y) };
    };
    const b13 = await features('buildings', 13);
    expect(b13.under).toBeGreaterThan(2_500);
    expect(b13.features.length).toBeLessThanOrEqual(2_500);
    const b14 = await features('buildings', 14);
    expect(b14.features.length).toBeLessThan(b14.under);
    const i12 = await features('incidents', 12);
    expect(i12.features.length).toBeLessThan(i12.under / 10);
    // Cells (512 units up to z14) are aligned with the tile: those centred in it hold exactly its incidents.
    const inside = i12.features.filter((f) => f.rings[0].every((p) => p.x >= 0 && p.x < TILE_EXTENT && p.y >= 0 && p.y < TILE_EXTENT));
    const { x: x12, y: y12 } = coreTiles(12)[0];
    const { rows } = await database.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM incidents WHERE ST_Intersects(ST_Transform(location, 3857), ST_TileEnvelope(12, $1::int, $2::int))`,
      [x12, y12],
    );
    expect(inside.reduce((n, f) => n + Number(f.properties.count), 0)).toBe(rows[0].n);
    const r10 = await features('roads', 10);
    expect(r10.features.length).toBeLessThan(r10.under / 10);
  });

  it('a cluster has the same count in every tile that shows it', async () => {
    const seen = new Map<string, number>();
    for (const t of coreTiles(13, true)) {
      const res = await app.inject(`/tiles/incidents/${t.z}/${t.x}/${t.y}`);
      for (const f of res.statusCode === 204 ? [] : decodeTile(res.rawPayload).incidents) {
        const id = String(f.properties.id);
        if (seen.has(id)) expect(f.properties.count, id).toBe(seen.get(id));
        seen.set(id, Number(f.properties.count));
      }
    }
    expect(seen.size).toBeGreaterThan(0);
  });

  it('sends gzip to clients that take it, under its own ETag, and 304 for either', async () => {
    const { x, y } = coreTiles(14)[0];
    const url = `/tiles/buildings/14/${x}/${y}`;
    const plain = await app.inject(url);
    const gz = await app.inject({ url, headers: { 'accept-encoding': 'gzip, deflate, br' } });
    expect(gz.statusCode).toBe(200);
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gz.headers.vary).toMatch(/Accept-Encoding/i);
    expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length);
    expect(zlib.gunzipSync(gz.rawPayload).equals(plain.rawPayload)).toBe(true);
    expect(gz.headers.etag).not.toBe(plain.headers.etag);
    for (const etag of [plain.headers.etag, gz.headers.etag]) {
      const res = await app.inject({ url, headers: { 'accept-encoding': 'gzip', 'if-none-match': etag as string } });
      expect(res.statusCode).toBe(304);
    }
    const refused = await app.inject({ url, headers: { 'accept-encoding': 'gzip;q=0, identity' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('native ST_AsMVT and the Node encoder select the same features in dense tiles', async () => {
    for (const layer of TILE_LAYER_IDS) {
      for (const z of zooms(layer)) {
        for (const t of coreTiles(z, z >= 13)) {
          const native = decodeTile(await readTile(database.db, layer, t.z, t.x, t.y, true))[layer] ?? [];
          const node = decodeTile(await readTile(database.db, layer, t.z, t.x, t.y, false))[layer] ?? [];
          const key = (f: { properties: object }) => JSON.stringify(Object.entries(f.properties).sort());
          expect(node.map(key).sort(), `${layer}/${t.z}/${t.x}/${t.y}`).toEqual(native.map(key).sort());
        }
      }
    }
  });
});
