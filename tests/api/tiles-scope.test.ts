import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { sessionFor } from '../support/auth.js';
import { TILE_LAYER_IDS, type TileLayerId } from '../../server/src/modules/tiles/tiles.layers.js';
import { CENTRE, decodeTile, insertHandPlaced, tileAt, type HandPlaced } from './tiles-fixtures.js';

/**
 * Tiles are cut to the signed-in user's area: a user scoped to a community (or a grid) gets only the
 * grids, buildings, incidents and responders under it, and the tile cache never hands one scope's
 * tile to another.
 */
let database: TestDatabase;
let app: FastifyInstance;
let fixture: HandPlaced;
/** The features of the second community, east of the hand-placed one. */
let other: { gridId: string; buildingId: string; incidentId: string; responderId: string };
const cookies: Record<string, string> = {};

const COMMUNITY = '310101001001';
const OTHER_COMMUNITY = '310101001002';
const OTHER_GRID = '310101001002001';
const KM_LAT = 1 / 111.32;
const kmLon = 1 / (111.32 * Math.cos((CENTRE.lat * Math.PI) / 180));
const at = (dxM: number, dyM: number) => [CENTRE.lon + (dxM / 1000) * kmLon, CENTRE.lat + (dyM / 1000) * KM_LAT] as const;

beforeAll(async () => {
  database = await createTestDatabase();
  fixture = await insertHandPlaced(database.pool);
  // A second community with one grid right of the first (the first spans −400 … 400 m east of CENTRE).
  const [w, s] = at(400, -400);
  const [e, n] = at(1200, 400);
  await database.pool.query(`INSERT INTO areas (code, name, geom) VALUES ($1, '第二社区', ST_Multi(ST_MakeEnvelope($2, $3, $4, $5, 4326)))`, [
    OTHER_COMMUNITY, w, s, e, n,
  ]);
  const grid = await database.pool.query<{ id: string }>(
    `INSERT INTO grids (code, name, community_id, geom)
     SELECT $1, '第二社区第1网格', id, ST_Multi(ST_MakeEnvelope($2, $3, $4, $5, 4326)) FROM areas WHERE code = $6 RETURNING id::text`,
    [OTHER_GRID, w, s, e, n, OTHER_COMMUNITY],
  );
  const [bx, by] = at(600, 0);
  const building = await database.pool.query<{ id: string }>(
    `INSERT INTO buildings (name, floors, households, geom, source, source_id)
     VALUES ('第二社区1号楼', 5, 20, ST_Multi(ST_Expand(ST_Point($1, $2, 4326), 0.0002)), 'generator', 'other-1') RETURNING id::text`,
    [bx, by],
  );
  const [ix, iy] = at(550, 50);
  const incident = await database.pool.query<{ id: string }>(
    `INSERT INTO incidents (category, priority, status, location, description, reported_at)
     VALUES ('dispute', 'normal', 'reported', ST_Point($1, $2, 4326), '第二社区事件', '2025-05-01T09:30:00Z') RETURNING id::text`,
    [ix, iy],
  );
  const [rx, ry] = at(650, -50);
  const responder = await database.pool.query<{ id: string }>(
    `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
     VALUES ('grid_worker', '王芳', 'available', ST_Point($1, $2, 4326), '2025-05-01T08:00:00Z', grid_at(ST_Point($1, $2, 4326))) RETURNING id::text`,
    [rx, ry],
  );
  other = { gridId: grid.rows[0].id, buildingId: building.rows[0].id, incidentId: incident.rows[0].id, responderId: responder.rows[0].id };
  app = await buildTestApp(database, { signedIn: false });
  cookies.admin = await sessionFor(app, database.pool, 'admin', '*');
  cookies[COMMUNITY] = await sessionFor(app, database.pool, 'viewer', COMMUNITY);
  cookies[OTHER_GRID] = await sessionFor(app, database.pool, 'grid_worker', OTHER_GRID);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const get = (url: string, who: string) => app.inject({ url, headers: { cookie: cookies[who] } });

/** z15 tiles over the fixture (±1.5 km around the centre): both communities. */
function tilesOver(z: number) {
  const nw = tileAt(...at(-1500, 1500), z);
  const se = tileAt(...at(1500, -1500), z);
  const out = [];
  for (let x = nw.x; x <= se.x; x++) for (let y = nw.y; y <= se.y; y++) out.push({ z, x, y });
  return out;
}

/** Ids (areas: codes; roads: names) of the features of a layer seen by `who` over the fixture at z15. */
async function seen(layer: TileLayerId, who: string): Promise<string[]> {
  const ids = new Set<string>();
  for (const t of tilesOver(15)) {
    const res = await get(`/tiles/${layer}/${t.z}/${t.x}/${t.y}`, who);
    expect([200, 204], `${layer}/${t.z}/${t.x}/${t.y}`).toContain(res.statusCode);
    expect(res.headers['cache-control']).toBe('private, max-age=60');
    if (res.statusCode === 204) continue;
    for (const f of decodeTile(res.rawPayload)[layer] ?? []) {
      expect(f.properties.clustered ?? false, `${layer}: individual features at z15`).toBe(false);
      ids.add(String(layer === 'areas' || layer === 'area-labels' ? f.properties.code : layer === 'roads' ? f.properties.name : f.properties.id));
    }
  }
  return [...ids].sort();
}

/** What a scope may see, asked of the database independently of the tile SQL. */
async function expected(layer: TileLayerId, scope: string): Promise<string[]> {
  const like = scope === '*' ? '%' : `${scope}%`;
  const sql: Record<TileLayerId, string> = {
    areas: 'SELECT code AS k FROM areas WHERE code LIKE $1',
    grids: 'SELECT id::text AS k FROM grids WHERE code LIKE $1',
    buildings: 'SELECT b.id::text AS k FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.code LIKE $1',
    incidents: 'SELECT i.id::text AS k FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE g.code LIKE $1',
    responders: 'SELECT r.id::text AS k FROM responders r JOIN grids g ON g.id = r.home_grid_id WHERE g.code LIKE $1 AND r.position IS NOT NULL',
    roads: 'SELECT DISTINCT name AS k FROM roads WHERE $1::text IS NOT NULL',
    'area-labels': 'SELECT code AS k FROM areas WHERE code LIKE $1 AND label_3857 IS NOT NULL',
    'grid-labels': 'SELECT id::text AS k FROM grids WHERE code LIKE $1',
  };
  const { rows } = await database.pool.query<{ k: string }>(sql[layer], [like]);
  return rows.map((r) => r.k).sort();
}

describe('tiles cut to the user\'s area', () => {
  it('the fixture places each of the second community\'s features in its grid', async () => {
    const { rows } = await database.pool.query(
      `SELECT (SELECT grid_id::text FROM buildings WHERE id = $1) AS b, (SELECT grid_id::text FROM incidents WHERE id = $2) AS i,
              (SELECT home_grid_id::text FROM responders WHERE id = $3) AS r`,
      [other.buildingId, other.incidentId, other.responderId],
    );
    expect(rows[0]).toEqual({ b: other.gridId, i: other.gridId, r: other.gridId });
  });

  it.each(TILE_LAYER_IDS)('an admin of everything sees every %s feature of both communities', async (layer) => {
    const ids = await seen(layer, 'admin');
    expect(ids).toEqual(await expected(layer, '*'));
    if (layer === 'grids') expect(ids).toContain(other.gridId);
    if (layer === 'buildings') expect(ids).toContain(other.buildingId);
    if (layer === 'incidents') expect(ids).toContain(other.incidentId);
    if (layer === 'responders') expect(ids).toContain(other.responderId);
  });

  it.each(TILE_LAYER_IDS)('a community-scoped user sees only that community\'s %s', async (layer) => {
    const ids = await seen(layer, COMMUNITY);
    expect(ids).toEqual(await expected(layer, COMMUNITY));
    expect(ids.length, layer).toBeGreaterThan(0);
    const mine = {
      areas: [COMMUNITY],
      grids: fixture.gridIds,
      buildings: fixture.buildingIds,
      incidents: fixture.incidentIds,
      responders: fixture.responderIds,
      roads: ['南京东路', '贵州路', '延安高架'],
      'area-labels': [COMMUNITY],
      'grid-labels': fixture.gridIds,
    }[layer];
    expect(ids).toEqual([...mine].sort());
    for (const id of Object.values(other)) expect(ids).not.toContain(id);
  });

  it.each(TILE_LAYER_IDS)('a user scoped to the other community\'s grid sees only that grid\'s %s', async (layer) => {
    const ids = await seen(layer, OTHER_GRID);
    expect(ids).toEqual(await expected(layer, OTHER_GRID));
    const theirs = {
      areas: [], // a grid user's scope holds no area code of its own
      grids: [other.gridId],
      buildings: [other.buildingId],
      incidents: [other.incidentId],
      responders: [other.responderId],
      roads: ['南京东路', '贵州路', '延安高架'], // basemap geography is not scoped
      'area-labels': [],
      'grid-labels': [other.gridId],
    }[layer];
    expect(ids).toEqual([...theirs].sort());
  });

  describe('the tile cache', () => {
    // A fresh app: an empty cache, so the first request of each tile below fills it.
    let fresh: FastifyInstance;
    beforeAll(async () => {
      fresh = await buildTestApp(database, { signedIn: false });
    });
    afterAll(async () => {
      await fresh?.close();
    });
    const ask = (url: string, who: string, headers: Record<string, string> = {}) =>
      fresh.inject({ url, headers: { cookie: cookies[who], ...headers } });
    /** Features of a layer in a response; a cluster counts its points. */
    const decoded = (res: { statusCode: number; rawPayload: Buffer }, layer: string) =>
      res.statusCode === 204 ? [] : (decodeTile(res.rawPayload)[layer] ?? []);
    const points = (fs: Array<{ properties: Record<string, unknown> }>) => fs.reduce((n, f) => n + Number(f.properties.count ?? 1), 0);
    /** The deepest zoom whose tile holds features of both communities (first: −100,50 m; second: 600,0 m). */
    function sharedTile() {
      for (let z = 16; z >= 0; z--) {
        const a = tileAt(...at(-100, 50), z);
        const b = tileAt(...at(650, -50), z);
        const c = tileAt(...at(550, 50), z);
        if (a.x === b.x && a.y === b.y && b.x === c.x && b.y === c.y) return a;
      }
      throw new Error('unreachable');
    }

    it('one tile asked by an admin, then by a scoped user, is cut anew (no shared cache entry)', async () => {
      const t = sharedTile();
      expect(t.z).toBeGreaterThanOrEqual(13); // every layer below has a band there
      for (const layer of ['buildings', 'grids', 'incidents', 'responders'] as const) {
        const url = `/tiles/${layer}/${t.z}/${t.x}/${t.y}`;
        const full = await ask(url, 'admin');
        const cut = await ask(url, COMMUNITY);
        expect(full.statusCode, layer).toBe(200);
        expect(cut.statusCode, layer).toBe(200);
        const fullIds = decoded(full, layer).map((f) => String(f.properties.id));
        const cutIds = decoded(cut, layer).map((f) => String(f.properties.id));
        const others = Object.values(other);
        // The second community holds one feature of each layer, in this tile: the admin's tile has
        // it, the scoped user's has it not.
        expect(points(decoded(full, layer)) - points(decoded(cut, layer)), layer).toBe(1);
        expect(points(decoded(cut, layer)), layer).toBeGreaterThan(0);
        expect(cutIds.some((id) => others.includes(id)), `${layer}: the scoped tile has none of the second community`).toBe(false);
        if (layer !== 'incidents' || !decoded(full, layer).some((f) => f.properties.clustered)) {
          expect(fullIds.some((id) => others.includes(id)), `${layer}: the admin's tile has the second community`).toBe(true);
        }
        expect(cut.rawPayload.equals(full.rawPayload), layer).toBe(false);
        expect(cut.headers.etag, layer).not.toBe(full.headers.etag);
        // Asked again, each gets its own version back (now from the cache).
        expect((await ask(url, 'admin')).rawPayload.equals(full.rawPayload), layer).toBe(true);
        expect((await ask(url, COMMUNITY)).rawPayload.equals(cut.rawPayload), layer).toBe(true);
        // The admin's ETag does not validate the scoped user's copy.
        expect((await ask(url, COMMUNITY, { 'if-none-match': full.headers.etag as string })).statusCode, layer).toBe(200);
      }
    });

    it('and the other order: a scoped user first, then an admin, gets the whole tile', async () => {
      const t = sharedTile();
      const z = t.z - 1; // another tile than above: a cold cache entry
      const { x, y } = tileAt(...at(-100, 50), z);
      for (const layer of ['buildings', 'responders'] as const) {
        const url = `/tiles/${layer}/${z}/${x}/${y}`;
        const cut = await ask(url, COMMUNITY);
        const full = await ask(url, 'admin');
        expect(decoded(full, layer).map((f) => f.properties.id), layer).toContain(layer === 'buildings' ? other.buildingId : other.responderId);
        expect(decoded(cut, layer).map((f) => f.properties.id), layer).not.toContain(layer === 'buildings' ? other.buildingId : other.responderId);
        expect(points(decoded(full, layer)) - points(decoded(cut, layer)), layer).toBe(1);
      }
    });
  });

  it('an anonymous request for a tile or TileJSON is 401', async () => {
    const t = tileAt(...at(600, 0), 15);
    for (const url of [`/tiles/buildings/${t.z}/${t.x}/${t.y}`, '/tiles/buildings.json']) {
      const res = await app.inject({ url });
      expect(res.statusCode, url).toBe(401);
      expect(res.json().code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('TileJSON bounds cut to the user\'s area (as the collections\' extents are)', () => {
  const SCOPED: TileLayerId[] = ['areas', 'grids', 'buildings', 'incidents', 'responders', 'area-labels', 'grid-labels'];
  const bounds = async (layer: TileLayerId, who: string): Promise<[number, number, number, number]> => {
    const res = await get(`/tiles/${layer}.json`, who);
    expect(res.statusCode).toBe(200);
    return res.json().bounds;
  };
  /** The extent of `sql`'s geometries, asked of the database. */
  const extentOf = async (sql: string, params: unknown[]): Promise<[number, number, number, number]> => {
    const { rows } = await database.pool.query<{ w: number; s: number; e: number; n: number }>(
      `SELECT ST_XMin(x) AS w, ST_YMin(x) AS s, ST_XMax(x) AS e, ST_YMax(x) AS n FROM (SELECT ST_Extent(g) AS x FROM (${sql}) q(g)) r`, params);
    return [rows[0].w, rows[0].s, rows[0].e, rows[0].n];
  };
  const within = (inner: number[], outer: number[], what: string) => {
    const eps = 1e-9;
    expect(inner[0], `${what} west`).toBeGreaterThanOrEqual(outer[0] - eps);
    expect(inner[1], `${what} south`).toBeGreaterThanOrEqual(outer[1] - eps);
    expect(inner[2], `${what} east`).toBeLessThanOrEqual(outer[2] + eps);
    expect(inner[3], `${what} north`).toBeLessThanOrEqual(outer[3] + eps);
  };
  const close = (a: number[], b: number[], what: string) => a.forEach((v, i) => expect(v, `${what} [${i}]`).toBeCloseTo(b[i], 9));

  it('a grid worker\'s bounds lie within their grid, for every scoped layer; the grid layer\'s are the grid\'s extent', async () => {
    const grid = await extentOf('SELECT geom FROM grids WHERE code = $1', [OTHER_GRID]);
    for (const layer of SCOPED) within(await bounds(layer, OTHER_GRID), grid, layer);
    close(await bounds('grids', OTHER_GRID), grid, 'grids');
    close(await bounds('buildings', OTHER_GRID),
      await extentOf('SELECT b.geom FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.code = $1', [OTHER_GRID]), 'buildings');
  });

  it('an admin\'s cover the district; a community user\'s their community; roads are the same for all', async () => {
    const all = await extentOf('SELECT geom FROM grids', []);
    close(await bounds('grids', 'admin'), all, 'admin grids');
    const allBuildings = await extentOf('SELECT geom FROM buildings', []);
    close(await bounds('buildings', 'admin'), allBuildings, 'admin buildings');
    const community = await extentOf('SELECT geom FROM areas WHERE code = $1', [COMMUNITY]);
    for (const layer of SCOPED) within(await bounds(layer, COMMUNITY), community, `${COMMUNITY} ${layer}`);
    // The second community's building lies east of the first community: outside the community user's bounds.
    const [bx] = at(600, 0);
    expect((await bounds('buildings', COMMUNITY))[2]).toBeLessThan(bx);
    expect((await bounds('buildings', 'admin'))[2]).toBeGreaterThan(bx);
    const roads = await bounds('roads', 'admin');
    close(await bounds('roads', OTHER_GRID), roads, 'roads');
    close(roads, await extentOf('SELECT geom FROM roads', []), 'roads');
  });

  it('tile URLs come from PUBLIC_URL: a forged Host header does not appear', async () => {
    const res = await app.inject({ url: '/tiles/grids.json', headers: { cookie: cookies[OTHER_GRID], host: 'evil.example', 'x-forwarded-host': 'evil.example' } });
    expect(res.statusCode).toBe(200);
    expect(res.body).not.toContain('evil.example');
    // The grids layer names the grids' generation (no plan has taken effect here).
    expect(res.json().tiles).toEqual([`${app.linkBase({} as never)}/tiles/grids/{z}/{x}/{y}?v=0`]);
  });
});
