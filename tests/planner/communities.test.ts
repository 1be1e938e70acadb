/**
 * The planner's screen reads (issue 13): the communities of the caller's area with what their grids
 * in force hold (against an independent PostGIS computation by geometry, not the server's grid_id
 * joins), one community with its boundary, bbox, grids and counts (equal to impact's "before"), and
 * the roads around it as snapping guides (clipped to the boundary expanded by 50 m, LineStrings, 7
 * decimals); scope as for every planner read, and whether the caller may change the plan.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, COMMUNITY1, COMMUNITY2, GRID3, session, setupEnv, type Env, type Session } from '../incidents/support.js';

let env: Env;
let planner: Session;
let gridPlanner: Session; // a planner scoped to one grid: reads its community, may not change it
let viewer: Session;

/** A third community with no boundary: its grid alone places it. */
const COMMUNITY3 = '310101002003';

interface Counts { buildings: number; households: number; openIncidents: number; responders: number }
interface Summary extends Counts { code: string; name: string; streetCode: string; streetName: string; grids: number; latestVersion: number; writable: boolean }
interface GridFeature { type: 'Feature'; properties: Counts & { code: string; name: string }; geometry: { type: string; coordinates: unknown } }
interface RoadFeature { type: 'Feature'; properties: { name: string | null; class: string }; geometry: { type: string; coordinates: [number, number][] } }

beforeAll(async () => {
  env = await setupEnv();
  planner = await session(env, 'planner', COMMUNITY1);
  gridPlanner = await session(env, 'planner', `${COMMUNITY1}001`);
  viewer = await session(env, 'viewer', COMMUNITY1);
  await env.db.pool.query(`
    -- Community 2: a building, an open and a closed incident, a responder.
    INSERT INTO buildings (name, households, geom, source, source_id)
      VALUES ('二社区楼', 30, ST_Multi(ST_Buffer(ST_Point(121.4925, 31.236, 4326), 0.0001, 2)), 'fixture', 'c2');
    INSERT INTO incidents (category, priority, status, location, description) VALUES
      ('dispute', 'normal', 'reported', ST_Point(121.4926, 31.2351, 4326), '二社区事件'),
      ('dispute', 'normal', 'closed', ST_Point(121.4927, 31.2352, 4326), '二社区旧事件');
    INSERT INTO responders (kind, name, status, home_grid_id) SELECT 'patrol', '二社区巡逻', 'available', id FROM grids WHERE code = '${GRID3}';
    -- A grid of community 2 retired by an earlier plan, with a responder left on it: not in force, counted nowhere.
    INSERT INTO grids (code, name, community_id, geom)
      SELECT '${COMMUNITY2}009', '旧网格', id, ST_Multi(ST_MakeEnvelope(121.49, 31.241, 121.495, 31.242, 4326)) FROM areas WHERE code = '${COMMUNITY2}';
    UPDATE grid_records SET retired_at = now() WHERE code = '${COMMUNITY2}009';
    INSERT INTO responders (kind, name, status, home_grid_id) SELECT 'patrol', '旧网格巡逻', 'available', id FROM grid_records WHERE code = '${COMMUNITY2}009';
    -- Community 3 has no boundary; one grid east of community 2.
    INSERT INTO areas (code, name) VALUES ('${COMMUNITY3}', '无边界社区');
    INSERT INTO grids (code, name, community_id, geom)
      SELECT '${COMMUNITY3}001', '第1网格', id, ST_Multi(ST_MakeEnvelope(121.495, 31.23, 121.50, 31.24, 4326)) FROM areas WHERE code = '${COMMUNITY3}';
    -- Roads around community 1 (121.48–121.49 × 31.23–31.24; the fixture's 金陵东路 lies inside).
    INSERT INTO roads (name, class, geom) VALUES
      ('长路', 'primary', ST_GeomFromText('LINESTRING(121.47 31.2345, 121.51 31.2345)', 4326)),
      ('U路', 'residential', ST_GeomFromText('LINESTRING(121.482 31.236, 121.482 31.25, 121.488 31.25, 121.488 31.236)', 4326)),
      (NULL, 'service', ST_GeomFromText('LINESTRING(121.486 31.238, 121.487 31.238)', 4326)),
      ('近路', 'footway', ST_GeomFromText('LINESTRING(121.481 31.2402, 121.483 31.2402)', 4326)),
      ('远路', 'footway', ST_GeomFromText('LINESTRING(121.481 31.2410, 121.483 31.2410)', 4326)),
      ('外地路', 'primary', ST_GeomFromText('LINESTRING(121.60 31.30, 121.61 31.30)', 4326)),
      ('南北路', 'secondary', ST_GeomFromText('LINESTRING(121.4975 31.20, 121.4975 31.27)', 4326));
  `);
});
afterAll(async () => {
  await env?.close();
});

const get = (url: string, cookie?: string) => call(env, 'GET', url, { cookie });
const list = async (cookie?: string, query = '') => {
  const res = await get(`/api/planner/communities${query}`, cookie);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().communities as Summary[];
};
const detail = async (code: string, cookie?: string) => {
  const res = await get(`/api/planner/communities/${code}`, cookie);
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};

/** What each community's grids in force hold, computed here by geometry (point on surface, location), not by grid_id. */
async function expectedCounts(): Promise<Map<string, Counts & { grids: number }>> {
  const { rows } = await env.db.pool.query<Counts & { code: string; grids: number }>(`
    WITH g AS (SELECT id, community_id, geom FROM grid_records WHERE retired_at IS NULL)
    SELECT a.code,
           (SELECT count(*)::int FROM g WHERE g.community_id = a.id) AS grids,
           (SELECT count(*)::int FROM buildings b
             WHERE EXISTS (SELECT 1 FROM g WHERE g.community_id = a.id AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom)))) AS buildings,
           (SELECT coalesce(sum(b.households), 0)::int FROM buildings b
             WHERE EXISTS (SELECT 1 FROM g WHERE g.community_id = a.id AND ST_Intersects(g.geom, ST_PointOnSurface(b.geom)))) AS households,
           (SELECT count(*)::int FROM incidents i
             WHERE i.status <> 'closed' AND EXISTS (SELECT 1 FROM g WHERE g.community_id = a.id AND ST_Intersects(g.geom, i.location))) AS "openIncidents",
           (SELECT count(*)::int FROM responders r JOIN g ON g.id = r.home_grid_id WHERE g.community_id = a.id) AS responders
      FROM areas a WHERE a.level = 'community' ORDER BY a.code`);
  return new Map(rows.map(({ code, ...counts }) => [code, counts]));
}

/** The same per grid in force of one community. */
async function expectedGridCounts(community: string): Promise<Map<string, Counts>> {
  const { rows } = await env.db.pool.query<Counts & { code: string }>(`
    SELECT g.code,
           (SELECT count(*)::int FROM buildings b WHERE ST_Intersects(g.geom, ST_PointOnSurface(b.geom))) AS buildings,
           (SELECT coalesce(sum(b.households), 0)::int FROM buildings b WHERE ST_Intersects(g.geom, ST_PointOnSurface(b.geom))) AS households,
           (SELECT count(*)::int FROM incidents i WHERE i.status <> 'closed' AND ST_Intersects(g.geom, i.location)) AS "openIncidents",
           (SELECT count(*)::int FROM responders r WHERE r.home_grid_id = g.id) AS responders
      FROM grid_records g JOIN areas a ON a.id = g.community_id
     WHERE g.retired_at IS NULL AND a.code = $1 ORDER BY g.code`, [community]);
  return new Map(rows.map(({ code, ...counts }) => [code, counts]));
}

describe('GET /api/planner/communities', () => {
  it('an admin of the whole installation: every community by code, with what its grids in force hold (the test\'s own computation)', async () => {
    const communities = await list();
    expect(communities.map((c) => c.code)).toEqual([COMMUNITY1, COMMUNITY2, COMMUNITY3]);
    const expected = await expectedCounts();
    for (const c of communities) {
      expect(c, c.code).toEqual({
        code: c.code, name: expect.any(String), streetCode: '310101002', streetName: '外滩街道', ...expected.get(c.code), latestVersion: 0, writable: true,
      });
    }
    // Not vacuous: the fixture holds something in each of the first two.
    const [c1, c2, c3] = communities;
    expect(c1).toMatchObject({ name: '金陵东路社区', grids: 2, buildings: 12, households: 288, openIncidents: 7, responders: 4 });
    expect(c2).toMatchObject({ grids: 1, buildings: 1, households: 30, openIncidents: 1, responders: 1 }); // not the retired grid's responder
    expect(c3).toMatchObject({ name: '无边界社区', grids: 1, buildings: 0, openIncidents: 0, responders: 0 });
  });

  it('scope: a planner sees the communities of its area (writable); a grid-scoped planner its grid\'s community and a viewer theirs (read only)', async () => {
    expect(await list(planner.cookie)).toEqual([expect.objectContaining({ code: COMMUNITY1, writable: true })]);
    expect(await list(gridPlanner.cookie)).toEqual([expect.objectContaining({ code: COMMUNITY1, writable: false })]);
    expect(await list(viewer.cookie)).toEqual([expect.objectContaining({ code: COMMUNITY1, writable: false })]);
    const street = await session(env, 'planner', '310101002');
    expect((await list(street.cookie)).map((c) => [c.code, c.writable])).toEqual([[COMMUNITY1, true], [COMMUNITY2, true], [COMMUNITY3, true]]);
    const commander = await session(env, 'commander', '310101002');
    expect((await list(commander.cookie)).every((c) => !c.writable)).toBe(true);
    await env.db.pool.query(`INSERT INTO areas (code, name) VALUES ('310101003', '另一街道')`);
    const elsewhere = await session(env, 'planner', '310101003');
    expect(await list(elsewhere.cookie)).toEqual([]);
  });

  it('limit: default 200, 1 … 1000, else 400 INVALID_LIMIT', async () => {
    expect((await list(undefined, '?limit=1')).map((c) => c.code)).toEqual([COMMUNITY1]);
    expect(await list(undefined, '?limit=1000')).toHaveLength(3);
    for (const bad of ['0', '5000', '1001', '-1', 'x']) {
      const res = await get(`/api/planner/communities?limit=${bad}`);
      expect(res.statusCode, bad).toBe(400);
      expect(res.json().code).toBe('INVALID_LIMIT');
    }
  });
});

describe('GET /api/planner/communities/{code}', () => {
  it('boundary, bbox and the grids in force, each with what it holds: the test\'s own computation and impact\'s "before"', async () => {
    const body = await detail(COMMUNITY1, planner.cookie);
    expect(body).toMatchObject({ code: COMMUNITY1, name: '金陵东路社区', latestVersion: 0, writable: true });
    expect(Object.keys(body).sort()).toEqual(['bbox', 'boundary', 'code', 'grids', 'latestVersion', 'name', 'roads', 'writable']);
    expect(body.boundary.type).toBe('MultiPolygon');
    const { rows: [same] } = await env.db.pool.query<{ ok: boolean }>(
      `SELECT ST_Equals(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), geom) AS ok FROM areas WHERE code = $2`, [JSON.stringify(body.boundary), COMMUNITY1]);
    expect(same.ok).toBe(true);
    expect(body.bbox).toEqual([121.48, 31.23, 121.49, 31.24]);

    const grids = body.grids.features as GridFeature[];
    expect(body.grids.type).toBe('FeatureCollection');
    expect(grids.map((g) => g.properties.code)).toEqual([`${COMMUNITY1}001`, `${COMMUNITY1}002`]);
    const expected = await expectedGridCounts(COMMUNITY1);
    for (const g of grids) {
      expect(g.type).toBe('Feature');
      expect(g.geometry.type).toBe('MultiPolygon');
      const { code, name, ...counts } = g.properties;
      expect(name).toMatch(/^第[12]网格$/);
      expect(counts, code).toEqual(expected.get(code));
    }
    expect(grids.reduce((n, g) => n + g.properties.buildings, 0)).toBe(12);

    // Impact's "before" of the grids in force (the same definitions), proposal = the grids as they are.
    const proposal = { type: 'FeatureCollection', features: grids.map((g) => ({ type: 'Feature', properties: { code: g.properties.code, name: g.properties.name }, geometry: g.geometry })) };
    const impact = await call(env, 'POST', '/api/planner/impact', { cookie: planner.cookie, body: { communityCode: COMMUNITY1, grids: proposal } });
    expect(impact.statusCode, impact.body).toBe(200);
    for (const g of impact.json().grids as { code: string; before: Counts; after: Counts }[]) {
      const { code: _c, name: _n, ...counts } = grids.find((x) => x.properties.code === g.code)!.properties;
      expect(g.before, g.code).toEqual(counts);
      expect(g.after, g.code).toEqual(counts);
    }

    // The sum over the grids is the list's figure.
    const [summary] = await list(planner.cookie);
    for (const k of ['buildings', 'households', 'openIncidents', 'responders'] as const) {
      expect(summary[k]).toBe(grids.reduce((n, g) => n + g.properties[k], 0));
    }
  });

  it('roads: the ones within ~50 m of the boundary, clipped to it, one LineString per part, 7 decimals', async () => {
    const body = await detail(COMMUNITY1, viewer.cookie);
    const roads = body.roads.features as RoadFeature[];
    expect(body.roads.type).toBe('FeatureCollection');
    const names = roads.map((r) => r.properties.name);
    expect(names.filter((n) => n === 'U路')).toHaveLength(2); // in, out beyond 50 m, back in: two parts
    expect(names).toEqual(expect.arrayContaining(['长路', '金陵东路', '近路', null]));
    expect(names).not.toContain('远路'); // ~111 m north
    expect(names).not.toContain('外地路');
    expect(names).not.toContain('南北路');
    expect(roads.find((r) => r.properties.name === '长路')!.properties.class).toBe('primary');
    for (const r of roads) {
      expect(r.type).toBe('Feature');
      expect(r.geometry.type).toBe('LineString');
      expect(r.geometry.coordinates.length).toBeGreaterThanOrEqual(2);
      for (const [x, y] of r.geometry.coordinates) {
        expect(Math.abs(x * 1e7 - Math.round(x * 1e7))).toBeLessThan(1e-3);
        expect(Math.abs(y * 1e7 - Math.round(y * 1e7))).toBeLessThan(1e-3);
      }
    }
    // Every part meets the boundary expanded by 50 m and lies within it (to the rounding), by the test's own buffer.
    const { rows } = await env.db.pool.query<{ meets: boolean; within: boolean; metres: number }>(`
      WITH e AS (SELECT ST_Buffer(geom::geography, 50)::geometry AS geom FROM areas WHERE code = $2)
      SELECT ST_Intersects(e.geom, f.geom) AS meets, ST_Covers(ST_Buffer(e.geom, 1e-6), f.geom) AS within, ST_Length(f.geom::geography) AS metres
        FROM e, (SELECT ST_SetSRID(ST_GeomFromGeoJSON(x), 4326) AS geom FROM jsonb_array_elements($1::jsonb) x) f`,
    [JSON.stringify(roads.map((r) => r.geometry)), COMMUNITY1]);
    expect(rows).toHaveLength(roads.length);
    expect(rows.every((r) => r.meets && r.within)).toBe(true);
    // 长路 crosses the whole community: clipped to its width and 50 m on either side.
    const { rows: [w] } = await env.db.pool.query<{ m: number }>(`SELECT ST_Length('SRID=4326;LINESTRING(121.48 31.2345, 121.49 31.2345)'::geography) AS m`);
    const long = rows[names.indexOf('长路')];
    expect(Math.abs(long.metres - (w.m + 100))).toBeLessThan(2);
  });

  it('a community without a boundary: its grids place the bbox and the roads\' area', async () => {
    const body = await detail(COMMUNITY3);
    expect(body).toMatchObject({ code: COMMUNITY3, boundary: null, bbox: [121.495, 31.23, 121.5, 31.24], latestVersion: 0, writable: true });
    expect(body.grids.features.map((g: GridFeature) => g.properties.code)).toEqual([`${COMMUNITY3}001`]);
    const roads = body.roads.features as RoadFeature[];
    const ns = roads.find((r) => r.properties.name === '南北路')!;
    const ys = ns.geometry.coordinates.map(([, y]) => y);
    // Clipped 50 m (~0.00045°) beyond the grid's south and north edges.
    expect(Math.min(...ys)).toBeGreaterThan(31.2294);
    expect(Math.min(...ys)).toBeLessThan(31.2296);
    expect(Math.max(...ys)).toBeGreaterThan(31.2404);
    expect(Math.max(...ys)).toBeLessThan(31.2406);
    expect(roads.map((r) => r.properties.name)).toContain('长路');
  });

  it('scope: writable as communityFor(write) decides; out of scope and unknown 404; a malformed code answers as the other community routes (404)', async () => {
    expect((await detail(COMMUNITY1, gridPlanner.cookie)).writable).toBe(false);
    expect((await detail(COMMUNITY1, viewer.cookie)).writable).toBe(false);
    expect((await detail(COMMUNITY2)).writable).toBe(true);
    for (const [code, cookie] of [[COMMUNITY2, planner.cookie], [COMMUNITY2, gridPlanner.cookie], [COMMUNITY2, viewer.cookie], ['310101002099', undefined]] as const) {
      const res = await get(`/api/planner/communities/${code}`, cookie);
      expect(res.statusCode, `${code}`).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
    for (const bad of ['abc', '31010100200', '3101010020011', `${COMMUNITY1}001`]) {
      const res = await get(`/api/planner/communities/${bad}`);
      const versions = await get(`/api/planner/communities/${bad}/versions`);
      expect([res.statusCode, res.json().code], bad).toEqual([404, 'NOT_FOUND']);
      expect(versions.statusCode, bad).toBe(res.statusCode);
    }
  });

  it('the latest version after a publish (the detail\'s grids publish as they are)', async () => {
    const body = await detail(COMMUNITY1, planner.cookie);
    const grids = { type: 'FeatureCollection', features: (body.grids.features as GridFeature[]).map((g) => ({ type: 'Feature', properties: { code: g.properties.code, name: g.properties.name }, geometry: g.geometry })) };
    const published = await call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie, body: { grids, baseVersion: body.latestVersion, note: '原样发布' } });
    expect(published.statusCode, published.body).toBe(201);
    expect(published.json()).toMatchObject({ version: 1, applied: true });
    expect((await detail(COMMUNITY1, viewer.cookie)).latestVersion).toBe(1);
    expect((await list()).map((c) => [c.code, c.latestVersion])).toEqual([[COMMUNITY1, 1], [COMMUNITY2, 0], [COMMUNITY3, 0]]);
    // Unchanged grids, unchanged figures.
    const expected = await expectedCounts();
    const [c1] = await list(planner.cookie);
    expect(c1).toMatchObject(expected.get(COMMUNITY1)!);
  });

  it('at most 3000 road parts, the longest first', async () => {
    // 3100 short paths (~5 m) inside community 3's grid.
    await env.db.pool.query(`
      INSERT INTO roads (name, class, geom)
      SELECT 'p' || i, 'path', ST_MakeLine(ST_Point(121.4955 + (i % 50) * 0.00008, 31.231 + (i / 50) * 0.00012, 4326),
                                           ST_Point(121.49555 + (i % 50) * 0.00008, 31.231 + (i / 50) * 0.00012, 4326))
        FROM generate_series(0, 3099) i`);
    try {
      const roads = (await detail(COMMUNITY3)).roads.features as RoadFeature[];
      expect(roads).toHaveLength(3000);
      expect(roads.slice(0, 2).map((r) => r.properties.name).sort()).toEqual(['南北路', '长路']);
    } finally {
      await env.db.pool.query(`DELETE FROM roads WHERE class = 'path'`);
    }
  });
});
