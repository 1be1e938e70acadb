import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { generate } from '@wangge/geo-data';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { readTile } from '../../server/src/modules/tiles/tiles.repository.js';
import { TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { decodeTile, expectedTileIds, surveyorArea, tileAt } from './tiles-fixtures.js';

/** The generator's tiny preset: real-looking shapes (blocks cut by roads, grids sharing edges). */
let database: TestDatabase;
let app: FastifyInstance;
let extent: { w: number; s: number; e: number; n: number };

beforeAll(async () => {
  database = await createTestDatabase();
  await generate(database.pool, { preset: 'tiny', seed: 7, now: new Date('2025-06-01T00:00:00Z') });
  app = await buildTestApp(database);
  const { rows } = await database.pool.query(
    'SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom) AS e FROM areas) x',
  );
  extent = rows[0];
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

function tilesOver(z: number) {
  const nw = tileAt(extent.w, extent.n, z);
  const se = tileAt(extent.e, extent.s, z);
  const out = [];
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ z, x, y });
  return out;
}


describe('tiles of a generated district', () => {
  it('every tile at each layer\'s maximum zoom holds exactly the features meeting its buffered envelope', async () => {
    for (const layer of TILE_LAYER_IDS) {
      let seen = 0;
      for (const t of tilesOver(TILE_LAYERS[layer].maxzoom)) {
        const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
        const features = res.statusCode === 204 ? [] : decodeTile(res.rawPayload)[layer];
        expect(features.map((f) => String(f.properties.id)).sort(), `${layer}/${t.z}/${t.x}/${t.y}`).toEqual(await expectedTileIds(database.pool, layer, t.z, t.x, t.y));
        seen += features.length;
      }
      expect(seen, layer).toBeGreaterThan(0);
    }
  });

  it('polygons keep exterior rings of positive area at every zoom', async () => {
    for (const layer of ['areas', 'grids', 'buildings'] as const) {
      for (let z = Math.max(TILE_LAYERS[layer].minzoom, 12); z <= TILE_LAYERS[layer].maxzoom; z++) {
        for (const t of tilesOver(z)) {
          const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
          if (res.statusCode === 204) continue;
          for (const f of decodeTile(res.rawPayload)[layer]) {
            expect(f.type).toBe(3);
            expect(surveyorArea(f.rings[0]), `${layer}/${t.z}/${t.x}/${t.y} ${f.properties.id}`).toBeGreaterThan(0);
          }
        }
      }
    }
  });

  it('cut to one community, every tile at the maximum zoom holds exactly that community\'s features (both encoders)', async () => {
    const { rows: communities } = await database.pool.query<{ code: string }>(`SELECT code FROM areas WHERE level = 'community' ORDER BY code`);
    expect(communities.length).toBeGreaterThan(1);
    const scope = communities[0].code;
    // Independent of the tile SQL: the rows under the scope meeting the buffered envelope.
    const scopedIds = (layer: TileLayerId, z: number, x: number, y: number) => expectedTileIds(database.pool, layer, z, x, y, scope);
    const natives = process.env.TEST_DATABASE_URL ? [true, false] : [false];
    for (const layer of TILE_LAYER_IDS) {
      let seen = 0;
      let outside = 0;
      for (const t of tilesOver(TILE_LAYERS[layer].maxzoom)) {
        const expected = await scopedIds(layer, t.z, t.x, t.y);
        for (const native of natives) {
          const ids = (decodeTile(await readTile(database.db, layer, t.z, t.x, t.y, native, scope))[layer] ?? []).map((f) => String(f.properties.id)).sort();
          expect(ids, `${layer}/${t.z}/${t.x}/${t.y} native=${native}`).toEqual(expected);
          seen += ids.length;
        }
        outside += (await expectedTileIds(database.pool, layer, t.z, t.x, t.y)).length - expected.length;
      }
      expect(seen, layer).toBeGreaterThan(0);
      // Roads are basemap geography, not scoped; every other layer has features outside the community.
      if (layer === 'roads') expect(outside).toBe(0);
      else expect(outside, layer).toBeGreaterThan(0);
    }
  });

  it.skipIf(!process.env.TEST_DATABASE_URL)('native ST_AsMVT and the Node encoder select the same features', async () => {
    for (const layer of TILE_LAYER_IDS) {
      for (let z = Math.max(TILE_LAYERS[layer].minzoom, 10); z <= TILE_LAYERS[layer].maxzoom; z++) {
        for (const t of tilesOver(z)) {
          const native = decodeTile(await readTile(database.db, layer, t.z, t.x, t.y, true))[layer] ?? [];
          const node = decodeTile(await readTile(database.db, layer, t.z, t.x, t.y, false))[layer] ?? [];
          const key = (f: { properties: object }) => JSON.stringify(Object.entries(f.properties).sort());
          expect(node.map(key).sort(), `${layer}/${t.z}/${t.x}/${t.y}`).toEqual(native.map(key).sort());
        }
      }
    }
  });
});
