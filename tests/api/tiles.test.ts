import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { sessionFor } from '../support/auth.js';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';
import { TILE_EXTENT, TILE_LAYERS, TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { PLANNED_LAYERS } from '../../server/src/modules/tiles/tiles.service.js';
import { CENTRE, decodeTile, expectedTileIds, insertHandPlaced, surveyorArea, tileAt, type DecodedFeature, type HandPlaced } from './tiles-fixtures.js';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database?.drop();
});

type Inject = Awaited<ReturnType<FastifyInstance['inject']>>;

function expectProblem(res: Inject, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = res.json();
  expect(body).toMatchObject({ status, code });
  expect(JSON.stringify(body)).not.toMatch(/SELECT|stack|at .*\.ts:/);
}

/** The features of one layer of a tile response (none for 204). */
function layerOf(res: Inject, layer: string): DecodedFeature[] {
  if (res.statusCode === 204) return [];
  expect(res.statusCode).toBe(200);
  return decodeTile(res.rawPayload)[layer] ?? [];
}

/** z/x/y of the tiles covering the hand-placed features (±700 m around the centre). */
function tilesAround(z: number): Array<{ z: number; x: number; y: number }> {
  const dLon = 0.7 / (111.32 * Math.cos((CENTRE.lat * Math.PI) / 180));
  const dLat = 0.7 / 111.32;
  const nw = tileAt(CENTRE.lon - dLon, CENTRE.lat + dLat, z);
  const se = tileAt(CENTRE.lon + dLon, CENTRE.lat - dLat, z);
  const out = [];
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ z, x, y });
  return out;
}

/** Features of a layer over several tiles, one per id (a feature near an edge is in several tiles). */
async function distinctFeatures(app: FastifyInstance, layer: TileLayerId, z: number): Promise<Map<string, DecodedFeature>> {
  const byId = new Map<string, DecodedFeature>();
  for (const t of tilesAround(z)) {
    const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
    for (const f of layerOf(res, layer)) byId.set(String(f.properties.id ?? `${f.properties.name}/${f.properties.class}`), f);
  }
  return byId;
}


describe('on an empty database', () => {
  let app: FastifyInstance;
  beforeAll(async () => {
    app = await buildTestApp(database);
  });
  afterAll(async () => {
    await app?.close();
  });

  it('TileJSON falls back to world bounds', async () => {
    const res = await app.inject('/tiles/incidents.json');
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.bounds[0]).toBe(-180);
    expect(body.bounds[2]).toBe(180);
    expect(body.center[2]).toBeGreaterThanOrEqual(TILE_LAYERS.incidents.minzoom);
  });

  it('an empty tile answers 204 with the caching header', async () => {
    const { z, x, y } = tileAt(CENTRE.lon, CENTRE.lat, 16);
    const res = await app.inject(`/tiles/buildings/${z}/${x}/${y}`);
    expect(res.statusCode).toBe(204);
    expect(res.rawPayload.length).toBe(0);
    expect(res.headers['cache-control']).toBe('private, max-age=60');
  });
});

describe('with hand-placed features', () => {
  let app: FastifyInstance;
  let fixture: HandPlaced;
  beforeAll(async () => {
    fixture = await insertHandPlaced(database.pool);
    app = await buildTestApp(database);
  });
  afterAll(async () => {
    await app?.close();
  });

  describe('GET /tiles/{layer}.json', () => {
    it.each(TILE_LAYER_IDS)('describes %s as TileJSON 3.0.0 with an absolute tile URL from PUBLIC_URL, never from the Host header', async (layer) => {
      const res = await app.inject({ url: `/tiles/${layer}.json`, headers: { host: 'evil.example' } });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('private, max-age=60');
      const body = res.json();
      const def = TILE_LAYERS[layer];
      expect(body).toMatchObject({ tilejson: '3.0.0', name: layer, minzoom: def.minzoom, maxzoom: def.maxzoom, scheme: 'xyz' });
      // buildTestApp leaves PUBLIC_URL at its default.
      // Layers drawn from grids carry the grids' generation (no plan has taken effect here: 0).
      expect(body.tiles).toEqual([`http://localhost:3000/tiles/${layer}/{z}/{x}/{y}${PLANNED_LAYERS.has(layer) ? '?v=0' : ''}`]);
      expect(res.body).not.toContain('evil.example');
      expect(body.vector_layers).toEqual([expect.objectContaining({ id: layer, minzoom: def.minzoom, maxzoom: def.maxzoom, fields: def.fields })]);
      expect(body.attribution).toBeUndefined();
      const [w, s, e, n] = body.bounds;
      const [lon, lat, zoom] = body.center;
      expect(w).toBeLessThanOrEqual(lon);
      expect(lon).toBeLessThanOrEqual(e);
      expect(s).toBeLessThanOrEqual(lat);
      expect(lat).toBeLessThanOrEqual(n);
      expect(zoom).toBeGreaterThanOrEqual(def.minzoom);
      expect(zoom).toBeLessThanOrEqual(def.maxzoom);
    });

    it('bounds are the extent of the data', async () => {
      const body = (await app.inject('/tiles/buildings.json')).json();
      const { rows } = await database.pool.query(
        'SELECT ST_XMin(e) AS w, ST_YMin(e) AS s, ST_XMax(e) AS e, ST_YMax(e) AS n FROM (SELECT ST_Extent(geom) AS e FROM buildings) x',
      );
      body.bounds.forEach((v: number, i: number) => expect(v).toBeCloseTo([rows[0].w, rows[0].s, rows[0].e, rows[0].n][i], 9));
    });

    it('fields name exactly the properties of the layer', () => {
      expect(Object.keys(TILE_LAYERS.areas.fields)).toEqual(['id', 'code', 'name', 'level']);
      expect(Object.keys(TILE_LAYERS.grids.fields)).toEqual(['id', 'code', 'name', 'communityCode']);
      expect(Object.keys(TILE_LAYERS.buildings.fields)).toEqual(['id', 'name', 'householdCount', 'floors', 'gridId']);
      expect(Object.keys(TILE_LAYERS.roads.fields)).toEqual(['id', 'name', 'class', 'bridge', 'tunnel', 'layer']);
      expect(Object.keys(TILE_LAYERS.incidents.fields)).toEqual(expect.arrayContaining(['id', 'category', 'priority', 'status', 'reportedAt', 'gridId', 'nearBorder', 'open', 'clustered', 'count', 'openCount', 'urgentCount']));
      expect(Object.keys(TILE_LAYERS.responders.fields)).toEqual(expect.arrayContaining(['id', 'kind', 'status', 'name', 'positionAt', 'homeGridId', 'clustered', 'count']));
    });

    it('carries the OpenStreetMap attribution while imported OSM roads are held', async () => {
      await database.pool.query(`INSERT INTO data_sources (name, layer, attribution) VALUES ('osm-test', 'roads', '© OpenStreetMap contributors')`);
      await database.pool.query(`UPDATE roads SET source = 'osm-test' WHERE id = $1`, [fixture.roadIds[1]]);
      // TileJSON facts are cached for a minute; a fresh app reads the new state.
      const fresh = await buildTestApp(database);
      try {
        expect((await fresh.inject('/tiles/roads.json')).json().attribution).toBe('© OpenStreetMap contributors');
        expect((await fresh.inject('/tiles/buildings.json')).json().attribution).toBeUndefined();
      } finally {
        await fresh.close();
        await database.pool.query(`UPDATE roads SET source = 'generator' WHERE id = $1`, [fixture.roadIds[1]]);
        await database.pool.query(`DELETE FROM data_sources WHERE name = 'osm-test'`);
      }
    });

    it('an unknown layer is 404 UNKNOWN_LAYER', async () => {
      expectProblem(await app.inject('/tiles/parcels.json'), 404, 'UNKNOWN_LAYER');
    });
  });

  describe('GET /tiles/{layer}/{z}/{x}/{y}', () => {
    it('answers a Mapbox Vector Tile with one layer named like the tile layer', async () => {
      const { z, x, y } = tileAt(CENTRE.lon, CENTRE.lat, 16);
      for (const layer of TILE_LAYER_IDS) {
        const res = await app.inject(`/tiles/${layer}/${z}/${x}/${y}`);
        expect(res.statusCode, layer).toBe(200);
        expect(res.headers['content-type']).toBe('application/vnd.mapbox-vector-tile');
        expect(Object.keys(decodeTile(res.rawPayload))).toEqual([layer]);
      }
    });

    it('at each layer\'s maximum zoom holds exactly the features meeting the buffered envelope', async () => {
      for (const layer of TILE_LAYER_IDS) {
        const z = TILE_LAYERS[layer].maxzoom;
        let seen = 0;
        for (const t of tilesAround(z)) {
          const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
          const ids = layerOf(res, layer).map((f) => String(f.properties.id)).sort();
          expect(ids, `${layer}/${t.z}/${t.x}/${t.y}`).toEqual(await expectedTileIds(database.pool, layer, t.z, t.x, t.y));
          seen += ids.length;
        }
        expect(seen, layer).toBeGreaterThan(0);
      }
    });

    it('features carry their properties in camelCase', async () => {
      const z16 = async (layer: TileLayerId) => distinctFeatures(app, layer, 16);
      const buildings = await z16('buildings');
      expect(buildings.size).toBe(4);
      const b = buildings.get(fixture.buildingIds[1])!.properties;
      expect(b).toEqual({ id: fixture.buildingIds[1], name: '贵州路2号楼', householdCount: 144, floors: 18, gridId: expect.any(String) });
      expect(fixture.gridIds).toContain(b.gridId);
      // A null property is left out, not written as a value.
      expect(Object.keys(buildings.get(fixture.buildingIds[2])!.properties).sort()).toEqual(['gridId', 'householdCount', 'id']);

      const roads = await z16('roads');
      expect(roads.get(fixture.roadIds[2])!.properties).toEqual({ id: fixture.roadIds[2], name: '延安高架', class: 'motorway', bridge: true, tunnel: false, layer: 1 });

      const grids = await z16('grids');
      expect([...grids.values()].map((f) => f.properties).sort((p, q) => String(p.code).localeCompare(String(q.code)))).toEqual([
        { id: fixture.gridIds[0], code: '310101001001001', name: '第001网格', communityCode: '310101001001' },
        { id: fixture.gridIds[1], code: '310101001001002', name: '第002网格', communityCode: '310101001001' },
      ]);

      const areas = await z16('areas');
      expect([...areas.values()].map((f) => [f.properties.code, f.properties.level]).sort()).toEqual([
        ['310101', 'district'], ['310101001', 'street'], ['310101001001', 'community'],
      ]);

      const incidents = await z16('incidents');
      expect(incidents.size).toBe(5);
      const reportedAt = Date.parse('2025-05-01T09:30:00Z') / 1000;
      expect(incidents.get(fixture.incidentIds[1])!.properties).toEqual({
        id: fixture.incidentIds[1], category: 'fire', priority: 'urgent', status: 'dispatched', reportedAt, gridId: expect.any(String),
        nearBorder: false, open: true, clustered: false, count: 1, openCount: 1, urgentCount: 1,
      });
      expect(incidents.get(fixture.incidentIds[2])!.properties).toMatchObject({ status: 'closed', open: false, openCount: 0 });
      // A rejected incident is open: back with the command centre.
      expect(incidents.get(fixture.incidentIds[4])!.properties).toMatchObject({ priority: 'urgent', status: 'rejected', open: true, urgentCount: 1 });
      expect(incidents.get(fixture.incidentIds[3])!.properties).toMatchObject({ nearBorder: true, priority: 'high' });

      const responders = await z16('responders');
      expect(responders.size).toBe(3); // the one without a position is not on the map
      expect(responders.get(fixture.responderIds[0])!.properties).toEqual({
        id: fixture.responderIds[0], kind: 'grid_worker', status: 'available', name: '张伟', positionAt: Date.parse('2025-05-01T08:00:00Z') / 1000,
        homeGridId: expect.any(String), clustered: false, count: 1, availableCount: 1, busyCount: 0,
      });
    });

    it('polygons have exterior rings of positive area in tile units, as the MVT spec requires', async () => {
      for (const layer of ['areas', 'grids', 'buildings'] as const) {
        for (const f of (await distinctFeatures(app, layer, 16)).values()) {
          expect(f.type).toBe(3);
          expect(surveyorArea(f.rings[0]), `${layer} ${f.properties.id}`).toBeGreaterThan(0);
        }
      }
    });

    it('label layers hold one point per area and grid, inside it, at the centre of its largest inscribed circle', async () => {
      const points = async (layer: 'area-labels' | 'grid-labels') => {
        const byId = new Map<string, { code: string; lonLat: [number, number] }>();
        for (const t of tilesAround(16)) {
          const res = await app.inject(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`);
          for (const f of layerOf(res, layer)) {
            expect(f.type, layer).toBe(1);
            const [[p]] = f.rings;
            // Tile units → lon/lat (the point of this tile, y down).
            const n = 2 ** t.z;
            const lon = ((t.x + p.x / TILE_EXTENT) / n) * 360 - 180;
            const lat = (Math.atan(Math.sinh(Math.PI * (1 - (2 * (t.y + p.y / TILE_EXTENT)) / n))) * 180) / Math.PI;
            byId.set(String(f.properties.id), { code: String(f.properties.code), lonLat: [lon, lat] });
          }
        }
        return byId;
      };
      const grids = await points('grid-labels');
      expect([...grids.keys()].sort()).toEqual([...fixture.gridIds].sort());
      const areas = await points('area-labels');
      expect([...areas.values()].map((a) => a.code).sort()).toEqual(['310101', '310101001', '310101001001']);
      for (const [table, found] of [['grids', grids], ['areas', areas]] as const) {
        for (const [id, { lonLat }] of found) {
          // Inside its polygon, and as far from its outline as PostGIS's inscribed circle (within a tile unit at z16, ~2.4 m).
          const { rows } = await database.pool.query<{ inside: boolean; gap: number }>(
            `SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint($2, $3), 4326)) AS inside,
                    ST_Distance(ST_Transform(ST_SetSRID(ST_MakePoint($2, $3), 4326), 3857), (ST_MaximumInscribedCircle(geom_3857)).center) AS gap
               FROM ${table} WHERE id = $1`, [id, ...lonLat]);
          expect(rows[0].inside, `${table} ${id}`).toBe(true);
          expect(rows[0].gap, `${table} ${id}`).toBeLessThan(5);
        }
      }
    });

    it('a redrawn grid\'s label moves with it', async () => {
      const id = fixture.gridIds[0];
      const before = await database.pool.query<{ geom: string; label: string }>('SELECT ST_AsEWKT(geom) AS geom, ST_AsText(label_3857) AS label FROM grids WHERE id = $1', [id]);
      try {
        // Half of it (the western half): its label moves west.
        await database.pool.query(
          `UPDATE grids SET geom = ST_Multi(ST_MakeEnvelope(ST_XMin(geom), ST_YMin(geom), (ST_XMin(geom) + ST_XMax(geom)) / 2, ST_YMax(geom), 4326)) WHERE id = $1`, [id]);
        const { rows } = await database.pool.query<{ moved: boolean; inside: boolean }>(
          `SELECT NOT ST_Equals(label_3857, ST_GeomFromText($2, 3857)) AS moved, ST_Contains(geom_3857, label_3857) AS inside FROM grids WHERE id = $1`, [id, before.rows[0].label]);
        expect(rows[0]).toEqual({ moved: true, inside: true });
      } finally {
        await database.pool.query('UPDATE grids SET geom = ST_GeomFromEWKT($2) WHERE id = $1', [id, before.rows[0].geom]);
      }
    });

    it('below the maximum zoom, tiny buildings are dropped', async () => {
      const at = async (z: number) => [...(await distinctFeatures(app, 'buildings', z)).keys()].sort();
      const all = [...fixture.buildingIds].sort();
      const withoutTiny = all.filter((id) => id !== fixture.buildingIds[2]);
      expect(await at(16)).toEqual(all);
      expect(await at(15)).toEqual(all);
      expect(await at(14)).toEqual(withoutTiny);
      expect(await at(13)).toEqual(withoutTiny);
    });

    it('below z13, roads are major classes only, merged per named road', async () => {
      const z12 = [...(await distinctFeatures(app, 'roads', 12)).values()];
      expect(z12.map((f) => f.properties.class).sort()).toEqual(['motorway', 'primary']);
      expect(z12.every((f) => f.properties.id === undefined)).toBe(true);
      expect((await distinctFeatures(app, 'roads', 13)).size).toBe(3);
    });

    it('below z15, incidents are clusters whose counts add up to the incidents', async () => {
      const z14 = [...(await distinctFeatures(app, 'incidents', 14)).values()];
      const clusters = z14.filter((f) => f.properties.clustered === true);
      expect(clusters.length).toBeGreaterThan(0);
      expect(z14.length).toBeLessThan(5);
      const sum = (k: string) => z14.reduce((n, f) => n + Number(f.properties[k]), 0);
      expect(sum('count')).toBe(5);
      expect(sum('openCount')).toBe(4); // reported, dispatched, in_progress, rejected; not closed
      expect(sum('urgentCount')).toBe(2); // urgent and open: the dispatched and the rejected urgent ones
      for (const c of clusters) {
        expect(c.type).toBe(1);
        expect(c.properties.count).toBeGreaterThan(1);
        expect(c.properties.id).toMatch(/^cluster\/14\/\d+\/\d+$/);
      }
      const z15 = [...(await distinctFeatures(app, 'incidents', 15)).values()];
      expect(z15.map((f) => [f.properties.clustered, f.properties.count])).toEqual(Array(5).fill([false, 1]));
    });

    it('below z13, responders are clusters counting available and busy ones', async () => {
      const z12 = [...(await distinctFeatures(app, 'responders', 12)).values()];
      const sum = (k: string) => z12.reduce((n, f) => n + Number(f.properties[k]), 0);
      expect(sum('count')).toBe(3);
      expect(sum('availableCount')).toBe(1);
      expect(sum('busyCount')).toBe(1);
    });

    it('a tile outside the layer\'s zoom range is 204 even where there is data', async () => {
      for (const [layer, z] of [['buildings', 12], ['responders', 9], ['grids', 7], ['incidents', 17], ['areas', 17]] as const) {
        const { x, y } = tileAt(CENTRE.lon, CENTRE.lat, z);
        const res = await app.inject(`/tiles/${layer}/${z}/${x}/${y}`);
        expect(res.statusCode, `${layer}/${z}`).toBe(204);
        expect(res.headers['cache-control']).toBe('private, max-age=60');
      }
    });

    it('every answer carries the security headers of the rest of the API (200, 204, 304, 400, 401)', async () => {
      const { z, x, y } = tileAt(CENTRE.lon, CENTRE.lat, 16);
      const reference = (await app.inject('/api/auth/me')).headers;
      const security = ['content-security-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy', 'referrer-policy',
        'strict-transport-security', 'x-content-type-options', 'x-frame-options'];
      for (const name of security) expect(reference[name], name).toBeDefined();
      const url = `/tiles/buildings/${z}/${x}/${y}`;
      const answers = [
        await app.inject(url), await app.inject(url), await app.inject('/tiles/buildings/16/0/0'),
        await app.inject({ url, headers: { 'if-none-match': (await app.inject(url)).headers.etag as string } }),
        await app.inject('/tiles/buildings/23/0/0'), await app.inject({ url, headers: { cookie: '' } }),
      ];
      expect(answers.map((a) => a.statusCode)).toEqual([200, 200, 204, 304, 400, 401]);
      for (const a of answers) for (const name of security) expect(a.headers[name], `${a.statusCode} ${name}`).toBe(reference[name]);
    });

    it('a tile with no feature is 204', async () => {
      expect((await app.inject('/tiles/buildings/16/0/0')).statusCode).toBe(204);
    });

    it('accepts .mvt and .pbf after y', async () => {
      const { z, x, y } = tileAt(CENTRE.lon, CENTRE.lat, 16);
      const plain = await app.inject(`/tiles/buildings/${z}/${x}/${y}`);
      for (const suffix of ['.mvt', '.pbf']) {
        const res = await app.inject(`/tiles/buildings/${z}/${x}/${y}${suffix}`);
        expect(res.statusCode).toBe(200);
        expect(res.rawPayload.equals(plain.rawPayload)).toBe(true);
      }
    });

    it('sends a strong ETag and answers 304 to If-None-Match', async () => {
      const { z, x, y } = tileAt(CENTRE.lon, CENTRE.lat, 16);
      const url = `/tiles/incidents/${z}/${x}/${y}`;
      const first = await app.inject(url);
      expect(first.headers['cache-control']).toBe('private, max-age=60');
      const etag = first.headers.etag as string;
      expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
      expect((await app.inject(url)).headers.etag).toBe(etag);
      const again = await app.inject({ url, headers: { 'if-none-match': etag } });
      expect(again.statusCode).toBe(304);
      expect(again.rawPayload.length).toBe(0);
      expect(again.headers.etag).toBe(etag);
      expect((await app.inject({ url, headers: { 'if-none-match': '"something-else"' } })).statusCode).toBe(200);
      // Another tile has another ETag.
      expect((await app.inject(`/tiles/buildings/${z}/${x}/${y}`)).headers.etag).not.toBe(etag);
    });

    it.each([
      ['z above 22', '/tiles/buildings/23/0/0'],
      ['negative z', '/tiles/buildings/-1/0/0'],
      ['x = 2^z', '/tiles/buildings/3/8/0'],
      ['y = 2^z', '/tiles/buildings/3/0/8'],
      ['negative y', '/tiles/buildings/3/0/-1'],
      ['x not a number', '/tiles/buildings/3/abc/0'],
      ['fractional y', '/tiles/buildings/3/0/1.5'],
      ['exponent z', '/tiles/buildings/1e1/0/0'],
      ['another suffix', '/tiles/buildings/3/0/0.png'],
      ['huge x', '/tiles/buildings/16/99999999999999999999/0'],
    ])('%s is 400 TILE_OUT_OF_RANGE', async (_case, url) => {
      expectProblem(await app.inject(url), 400, 'TILE_OUT_OF_RANGE');
    });

    it('an unknown layer is 404 UNKNOWN_LAYER', async () => {
      expectProblem(await app.inject('/tiles/parcels/3/0/0'), 404, 'UNKNOWN_LAYER');
    });

    it('is described in the OpenAPI document under the tiles tag', async () => {
      const doc = (await app.inject('/api/docs/json')).json();
      expect(doc.paths['/tiles/{layer}/{z}/{x}/{y}'].get.tags).toEqual(['tiles']);
      expect(doc.paths['/tiles/{layer}.json'].get.tags).toEqual(['tiles']);
    });
  });

  describe.skipIf(!process.env.TEST_DATABASE_URL)('native ST_AsMVT and the Node encoder', () => {
    let nodeApp: FastifyInstance;
    beforeAll(async () => {
      const capabilities = await probeCapabilities(database.db);
      nodeApp = await buildApp({
        config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
        database,
        capabilities: { ...capabilities, nativeMvt: false },
        logger: false,
      });
      // buildApp alone is anonymous: sign the Node-encoder app in as an admin of everything too.
      const cookie = await sessionFor(nodeApp, database.pool, 'admin', '*');
      const inject = nodeApp.inject.bind(nodeApp);
      (nodeApp as { inject: unknown }).inject = (url: string) => inject({ url, headers: { cookie } });
    });
    afterAll(async () => {
      await nodeApp?.close();
    });

    it('agree on features, properties and ring orientation at every zoom of every layer', async () => {
      expect(app.capabilities.nativeMvt).toBe(true);
      for (const layer of TILE_LAYER_IDS) {
        for (let z = Math.max(TILE_LAYERS[layer].minzoom, 10); z <= TILE_LAYERS[layer].maxzoom; z++) {
          for (const t of tilesAround(z)) {
            const url = `/tiles/${layer}/${t.z}/${t.x}/${t.y}`;
            const native = layerOf(await app.inject(url), layer);
            const node = layerOf(await nodeApp.inject(url), layer);
            const key = (f: DecodedFeature) => JSON.stringify(Object.entries(f.properties).sort());
            expect(node.map(key).sort(), url).toEqual(native.map(key).sort());
            const sign = (fs: DecodedFeature[]) => fs.map((f) => [key(f), f.type, f.rings.map((r) => Math.sign(surveyorArea(r)))]).sort();
            if (layer !== 'roads') expect(sign(node), url).toEqual(sign(native));
          }
        }
      }
    });
  });
});
