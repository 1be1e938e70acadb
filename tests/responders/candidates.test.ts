/**
 * GET /api/incidents/{id}/candidates on a real database.
 *  - Network off (roads but no noded network): the order equals a brute-force geodesic ranking
 *    computed here in SQL (ST_Distance on geography, the same stale penalty and ladder rules written
 *    independently as an ORDER BY), every candidate flagged routed: false with the reason saying so.
 *  - Each ladder rule and the stale penalty have a case; k bounds; scope (404); permission.
 *  - Network on (a small road network noded with the project's noding): routed ETAs and routes, a
 *    disconnected responder falls back to the straight line, and the graph is rebuilt when the roads
 *    change (version bump): the next request uses the new road.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { rebuildRoadNetwork } from '../../geo-data/src/roads/noding.js';
import { DEFAULT_COMMAND_CONFIG } from '../../server/src/config.js';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { sessionFor } from '../support/auth.js';
import { appWith, M_LAT, mLon } from './helpers.js';

const GRID1 = '310101002001001'; // 121.480–121.485
const GRID2 = '310101002001002'; // 121.485–121.490, touches grid 1
const GRID3 = '310101002001003'; // 121.495–121.500, touches neither
const P = { lon: 121.4825, lat: 31.235 }; // in grid 1
const cfg = DEFAULT_COMMAND_CONFIG;
const WALK = cfg.offNetworkKmh / 3.6; // m/s of the straight-line fallback

interface Cand {
  responderId: string; name: string; tier: string; etaSeconds: number; distanceMetres: number; routed: boolean;
  reasonCode: string; reason: string; presence: string; positionAgeSeconds: number; route: { type: string; coordinates: number[][] } | null;
}

describe('nearest-responder candidates', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  const gridId: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestDatabase();
    await insertSmallDistrict(t.pool);
    await t.pool.query(`
      INSERT INTO grids (code, name, community_id, geom)
      SELECT '${GRID3}', '第3网格', id, ST_Multi(ST_MakeEnvelope(121.495, 31.23, 121.5, 31.24, 4326)) FROM areas WHERE code = '310101002001'`);
    for (const r of (await t.pool.query<{ code: string; id: string }>('SELECT code, id::text FROM grids')).rows) gridId[r.code] = r.id;
    app = await appWith(t);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  async function incidentAt(lon: number, lat: number): Promise<string> {
    const { rows } = await t.pool.query<{ id: string }>(
      `INSERT INTO incidents (category, priority, status, location, description)
       VALUES ('dispute', 'normal', 'reported', ST_SetSRID(ST_MakePoint($1, $2), 4326), 'candidates test') RETURNING id::text`,
      [lon, lat],
    );
    return rows[0].id;
  }

  /** A responder `metres` east of P (or at lon/lat), home grid by code (or none), position `age` s old. */
  async function responder(name: string, opts: { east?: number; north?: number; grid?: string | null; age?: number; status?: string; at?: [number, number] }): Promise<string> {
    const [lon, lat] = opts.at ?? [P.lon + (opts.east ?? 0) * mLon(P.lat), P.lat + (opts.north ?? 0) * M_LAT];
    const { rows } = await t.pool.query<{ id: string }>(
      `INSERT INTO responders (kind, name, status, position, position_at, home_grid_id)
       VALUES ('grid_worker', $1, $2, ST_SetSRID(ST_MakePoint($3, $4), 4326), now() - make_interval(secs => $5), $6) RETURNING id::text`,
      [name, opts.status ?? 'available', lon, lat, opts.age ?? 10, opts.grid ? gridId[opts.grid] : null],
    );
    return rows[0].id;
  }

  async function candidates(id: string, qs = 'k=20', headers: Record<string, string> = {}): Promise<Cand[]> {
    const res = await app.inject({ url: `/api/incidents/${id}/candidates?${qs}`, headers });
    expect(res.statusCode, res.body).toBe(200);
    return res.json().candidates;
  }

  describe('network off (no road network)', () => {
    beforeEach(async () => {
      await t.pool.query('DELETE FROM responders');
    });

    test('the order equals a brute-force geodesic ranking with the same penalties and ladder', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      // A deterministic spread of responders: home grids 1/2/3/none, online or stale, and some that
      // must never appear (busy, off duty, offline, no position).
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      const grids = [GRID1, GRID2, GRID3, null];
      for (let i = 0; i < 36; i++) {
        await responder(`r${i}`, {
          east: (rand() - 0.5) * 3000, north: (rand() - 0.5) * 3000, grid: grids[i % 4],
          age: i % 3 === 0 ? 400 : 20, status: i % 11 === 5 ? 'busy' : i % 13 === 7 ? 'off_duty' : 'available',
        });
      }
      await responder('offline', { east: 5, age: 2000 });
      await t.pool.query(`INSERT INTO responders (kind, name, status, home_grid_id) VALUES ('patrol', 'nowhere', 'available', $1)`, [gridId[GRID1]]);

      const { rows: expected } = await t.pool.query<{ id: string; eta: number; dist: number }>(
        `WITH i AS (SELECT location, grid_id FROM incidents WHERE id = $1),
         c AS (
           SELECT r.id::text AS id, ST_Distance(r.position::geography, i.location::geography) AS dist,
                  ST_Distance(r.position::geography, i.location::geography) / $2
                    + CASE WHEN r.position_at <= now() - make_interval(secs => $3) THEN $4 ELSE 0 END AS eta,
                  CASE WHEN r.home_grid_id = i.grid_id THEN 'own'
                       WHEN EXISTS (SELECT 1 FROM grids a, grids b WHERE a.id = r.home_grid_id AND b.id = i.grid_id AND ST_Touches(a.geom, b.geom)) THEN 'nb'
                       ELSE 'other' END AS tier
             FROM responders r, i
            WHERE r.status = 'available' AND r.position_at > now() - make_interval(secs => $5))
         SELECT c.id, c.eta, c.dist FROM c, (SELECT min(eta) AS best FROM c) b
          ORDER BY CASE WHEN tier = 'own' AND eta <= best + $6 THEN 0 WHEN tier = 'nb' AND eta <= best + $7 THEN 1 ELSE 2 END, eta, id
          LIMIT 20`,
        [incident, WALK, cfg.onlineSeconds, cfg.stalePenaltySeconds, cfg.offlineSeconds, cfg.ownGridExtraSeconds, cfg.neighbourExtraSeconds],
      );
      expect(expected.length).toBe(20);
      const got = await candidates(incident);
      expect(got.map((c) => c.responderId)).toEqual(expected.map((e) => e.id));
      got.forEach((c, i) => {
        expect(c.etaSeconds).toBe(Math.round(expected[i].eta));
        expect(c.distanceMetres).toBe(Math.round(expected[i].dist));
        expect(c.routed).toBe(false);
        expect(c.route).toBeNull();
        expect(c.reason).toMatch(/直线估算（无路网数据）/);
      });
      // The ladder did something here: the top candidates are not simply the nearest.
      expect(got.map((c) => c.tier).slice(0, 3)).toContain('own_grid');
      const en = await candidates(incident, 'k=3', { 'accept-language': 'en-GB,en;q=0.9' });
      expect(en[0].reason).toMatch(/straight-line estimate \(no road network\)/);
    });

    test('ladder: an own-grid worker within the extra time beats a faster other', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      const other = await responder('other', { east: 100, grid: GRID3 }); // 72 s
      const own = await responder('own', { east: -400, grid: GRID1 }); // 288 s ≤ 72 + 300
      const got = await candidates(incident);
      expect(got.map((c) => c.responderId)).toEqual([own, other]);
      expect(got[0]).toMatchObject({ tier: 'own_grid', reasonCode: 'own_grid_within_extra', etaSeconds: 288 });
      expect(got[0].reason).toMatch(/^本网格网格员.*本网格优先/);
      expect(got[1]).toMatchObject({ tier: 'other', reasonCode: 'fastest', etaSeconds: 72 });
    });

    test('ladder: an own-grid worker beyond the extra time does not', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      const other = await responder('other', { east: 100, grid: GRID3 }); // 72 s
      const own = await responder('own', { east: -600, grid: GRID1 }); // 432 s > 372
      const got = await candidates(incident);
      expect(got.map((c) => c.responderId)).toEqual([other, own]);
      expect(got[1]).toMatchObject({ tier: 'own_grid', reasonCode: 'own_grid_beyond_extra' });
    });

    test('ladder: a neighbour-grid worker beats others within its extra time, not beyond', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      const other = await responder('other', { east: 100, grid: GRID3 }); // 72 s
      const near = await responder('near', { north: 200, grid: GRID2 }); // 144 s ≤ 72 + 120
      const far = await responder('far', { north: -300, grid: GRID2 }); // 216 s > 192
      const otherSlow = await responder('other2', { east: -250 }); // 180 s, no grid
      const got = await candidates(incident);
      expect(got.map((c) => c.responderId)).toEqual([near, other, otherSlow, far]);
      expect(got.map((c) => c.reasonCode)).toEqual(['neighbour_within_extra', 'fastest', 'by_eta', 'neighbour_beyond_extra']);
      expect(got[0].tier).toBe('neighbour_grid');
    });

    test('a grid listed in the incident\'s near_grid_ids counts as a neighbour', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      await t.pool.query('UPDATE incidents SET near_grid_ids = ARRAY[$2::uuid] WHERE id = $1', [incident, gridId[GRID3]]);
      const other = await responder('other', { east: 100 });
      const g3 = await responder('g3', { east: 200, grid: GRID3 });
      const got = await candidates(incident);
      expect(got.map((c) => [c.responderId, c.tier])).toEqual([[g3, 'neighbour_grid'], [other, 'other']]);
    });

    test('stale positions are penalised by stalePenaltySeconds', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      const stale = await responder('stale', { east: 100, age: 500 }); // 72 + 180 = 252 s
      const fresh = await responder('fresh', { east: 200, age: 5 }); // 144 s
      const got = await candidates(incident);
      expect(got.map((c) => c.responderId)).toEqual([fresh, stale]);
      expect(got[1]).toMatchObject({ presence: 'stale', etaSeconds: 252, distanceMetres: 100 });
      expect(got[1].positionAgeSeconds).toBeGreaterThanOrEqual(500);
      expect(got[1].reason).toMatch(/加计 3 分钟/);
      expect(got[0]).toMatchObject({ presence: 'online', etaSeconds: 144 });
    });

    test('k bounds, scope and permission', async () => {
      const incident = await incidentAt(P.lon, P.lat);
      for (let i = 0; i < 25; i++) await responder(`x${i}`, { east: 10 * i + 10 });
      expect(await candidates(incident, 'k=1')).toHaveLength(1);
      expect(await candidates(incident, 'k=20')).toHaveLength(20);
      expect(await candidates(incident, '')).toHaveLength(5);
      for (const k of ['0', '21', '-1', '1000']) {
        const res = await app.inject(`/api/incidents/${incident}/candidates?k=${k}`);
        expect(res.statusCode, k).toBe(400);
        expect(res.json().code).toBe('VALIDATION_FAILED');
      }
      expect((await app.inject(`/api/incidents/${incident}/candidates?k=abc`)).statusCode).toBe(400);
      // Out of scope: a commander of grid 2 does not see an incident of grid 1.
      const grid2 = await sessionFor(app, t.pool, 'commander', GRID2);
      const hidden = await app.inject({ url: `/api/incidents/${incident}/candidates`, headers: { cookie: grid2 } });
      expect(hidden.statusCode).toBe(404);
      expect(hidden.json().code).toBe('NOT_FOUND');
      for (const id of ['00000000-0000-4000-8000-000000000000', 'not-a-uuid']) {
        expect((await app.inject(`/api/incidents/${id}/candidates`)).statusCode).toBe(404);
      }
      // A commander of grid 1 sees it, but only the responders of grid 1.
      await responder('g1', { east: 30, grid: GRID1 });
      await responder('g2', { east: 20, grid: GRID2 });
      const grid1 = await sessionFor(app, t.pool, 'commander', GRID1);
      const res = await app.inject({ url: `/api/incidents/${incident}/candidates?k=20`, headers: { cookie: grid1 } });
      expect(res.json().candidates.map((c: Cand) => c.name)).toEqual(['g1']);
      // Grid workers may not dispatch.
      const worker = await sessionFor(app, t.pool, 'grid_worker', GRID1);
      expect((await app.inject({ url: `/api/incidents/${incident}/candidates`, headers: { cookie: worker } })).statusCode).toBe(403);
    });
  });

  describe('network on', () => {
    // Points in grid 1, in metres from P.
    const pt = (east: number, north: number) => `${P.lon + east * mLon(P.lat)} ${P.lat + north * M_LAT}`;
    const A = pt(-100, 0);
    const B = pt(100, 0);

    beforeAll(async () => {
      await t.pool.query('DELETE FROM responders');
      await t.pool.query('DELETE FROM roads');
      // A "U" from A down 300 m, 200 m east, up to B; and an island road far from it.
      await t.pool.query(
        `INSERT INTO roads (name, class, geom) VALUES
           ('U', 'residential', ST_GeomFromText('LINESTRING(${A}, ${pt(-100, -300)}, ${pt(100, -300)}, ${B})', 4326)),
           ('island', 'residential', ST_GeomFromText('LINESTRING(${pt(0, 400)}, ${pt(150, 400)})', 4326))`,
      );
      await rebuildRoadNetwork(t.pool);
    });

    test('routed ETA over the road, routes from the responder to the incident; a disconnected responder falls back', async () => {
      const incident = await incidentAt(P.lon - 100 * mLon(P.lat), P.lat + 10 * M_LAT); // 10 m north of A
      const atB = await responder('atB', { east: 100, north: 5 }); // 5 m north of B
      const island = await responder('island', { east: 50, north: 405 });
      const faraway = await responder('faraway', { east: -100, north: 800 }); // 400 m from the island, 800 m from the U
      const res = await app.inject(`/api/incidents/${incident}/candidates?k=5&routes=true`);
      expect(res.statusCode).toBe(200);
      expect(res.headers['server-timing']).toMatch(/rank;dur=/);
      const body = res.json();
      const got: Cand[] = body.candidates;
      const b = got.find((c) => c.responderId === atB)!;
      // 10 m + 5 m on foot, 800 m of residential road (20 km/h).
      const speed = cfg.speedsKmh.residential / 3.6;
      expect(b.routed).toBe(true);
      expect(b.distanceMetres).toBeGreaterThan(810);
      expect(b.distanceMetres).toBeLessThan(820);
      expect(b.etaSeconds).toBeCloseTo(15 / WALK + 800 / speed, -0.5);
      expect(b.reason).toMatch(/路网行程/);
      const line = b.route!.coordinates;
      expect(line[0][0]).toBeCloseTo(P.lon + 100 * mLon(P.lat), 6);
      expect(line[line.length - 1][1]).toBeCloseTo(P.lat + 10 * M_LAT, 6);
      expect(Math.min(...line.map((c) => c[1]))).toBeCloseTo(P.lat - 300 * M_LAT, 6); // it goes round the U
      const i = got.find((c) => c.responderId === island)!;
      expect(i).toMatchObject({ routed: false, route: null });
      expect(i.reason).toMatch(/路网不连通/);
      const f = got.find((c) => c.responderId === faraway)!;
      expect(f).toMatchObject({ routed: false, route: null });
      expect(f.reason).toMatch(/距道路过远/);
      expect(i.distanceMetres).toBe(Math.round((await t.pool.query(
        `SELECT ST_Distance(r.position::geography, i.location::geography) AS d FROM responders r, incidents i WHERE r.id = $1 AND i.id = $2`, [island, incident])).rows[0].d));
    });

    test('the graph is rebuilt when the roads change: the next request uses the new road', async () => {
      const incident = await incidentAt(P.lon - 100 * mLon(P.lat), P.lat);
      await t.pool.query('DELETE FROM responders');
      await responder('atB', { east: 100 });
      const first = (await app.inject(`/api/incidents/${incident}/candidates`)).json();
      expect(first.candidates[0].distanceMetres).toBeGreaterThan(790);
      await t.pool.query(`INSERT INTO roads (name, class, geom) VALUES ('shortcut', 'residential', ST_GeomFromText('LINESTRING(${A}, ${B})', 4326))`);
      await rebuildRoadNetwork(t.pool);
      const second = (await app.inject(`/api/incidents/${incident}/candidates?routes=true`)).json();
      expect(second.networkVersion).toBeGreaterThan(first.networkVersion);
      expect(second.candidates[0].routed).toBe(true);
      expect(second.candidates[0].distanceMetres).toBeGreaterThan(195);
      expect(second.candidates[0].distanceMetres).toBeLessThan(205);
      expect(second.candidates[0].route.coordinates.every((c: number[]) => Math.abs(c[1] - P.lat) < 1e-6)).toBe(true);
      // And removing the roads altogether falls back to the straight line, flagged.
      await t.pool.query('DELETE FROM roads');
      await rebuildRoadNetwork(t.pool);
      const third = (await app.inject(`/api/incidents/${incident}/candidates`)).json();
      expect(third.candidates[0]).toMatchObject({ routed: false, distanceMetres: 200 });
      expect(third.candidates[0].reason).toMatch(/无路网数据/);
    });
  });
});
