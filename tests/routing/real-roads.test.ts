/**
 * Candidates on the REAL Shanghai roads (../shared/real-data, Bund / Lujiazui), imported with the
 * project's importer and noding: every routed candidate's network distance and travel time equal an
 * independent shortest-path computation within 1% — pgRouting's pgr_withPoints on road_edges
 * (undirected; points entered on their edges at the projected fraction), with the snaps computed
 * here by brute force (the nearest edge by geodesic distance over all edges) and the off-network
 * legs added at the walking speed.
 *
 * Two apps: one with one speed for every road class (the fastest path is the shortest: compare
 * metres against pgRouting on length_m), one with the configured speeds per class (compare seconds
 * against pgRouting on length_m / speed).
 */
import path from 'node:path';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { DEFAULT_COMMAND_CONFIG } from '../../server/src/config.js';
import { createTestDatabase, tempDir, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { haveRealData, shanghaiDir } from '../import/helpers.js';
import { appWith } from '../responders/helpers.js';

const roadsFile = path.join(shanghaiDir, 'roads.geojson');
const haveData = haveRealData(roadsFile);
if (!usesExternalDatabase) console.log('[tests] real-roads routing oracle skipped: the embedded database (PGlite) has no pgRouting');
const cfg = DEFAULT_COMMAND_CONFIG;
const WALK = cfg.offNetworkKmh / 3.6;
const INCIDENTS = 8;
const RESPONDERS = 20;

describe.skipIf(!haveData || !usesExternalDatabase)('candidates on the real Shanghai roads vs pgRouting', () => {
  let t: TestDatabase;
  let uniform: FastifyInstance;
  let perClass: FastifyInstance;
  let pgrouting = false;
  let dir: string;
  const incidentIds: { id: string; pid: number }[] = [];
  const responderPid = new Map<string, number>();

  beforeAll(async () => {
    t = await createTestDatabase();
    const available = await t.pool.query(`SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'`);
    if (!available.rowCount) {
      console.log('[tests] real-roads routing oracle skipped: pgRouting is not installed on this server');
      return;
    }
    pgrouting = true;
    await t.pool.query('CREATE EXTENSION IF NOT EXISTS pgrouting');
    dir = tempDir('routing-real');
    const r = await importGeoJson(t.pool, { layer: 'roads', file: roadsFile, reportFile: path.join(dir, 'roads.json') });
    expect(r.imported).toBe(1078);
    // One district → street → community → grid over the whole extent, so incidents get a grid.
    await t.pool.query(`
      INSERT INTO areas (code, name, geom) VALUES
        ('310101', '黄浦区', ST_Multi(ST_MakeEnvelope(121.47, 31.22, 121.53, 31.26, 4326))),
        ('310101013', '外滩街道', ST_Multi(ST_MakeEnvelope(121.47, 31.22, 121.53, 31.26, 4326))),
        ('310101013014', '中山东一路居委会', ST_Multi(ST_MakeEnvelope(121.47, 31.22, 121.53, 31.26, 4326)));
      INSERT INTO grids (code, name, community_id, geom)
        SELECT '310101013014001', '测试网格', id, ST_Multi(ST_MakeEnvelope(121.47, 31.22, 121.53, 31.26, 4326)) FROM areas WHERE code = '310101013014';`);
    // Points near deterministic pseudo-random road nodes, moved up to ~40 m off them (so most
    // snap onto the middle of an edge): pids 1..8 incidents, 101..120 responders.
    await t.pool.query(`
      CREATE TABLE oracle_points AS
      WITH picked AS (
        SELECT geom, row_number() OVER (ORDER BY md5(id::text || 'wangge')) AS n FROM road_nodes
      )
      SELECT CASE WHEN n <= ${INCIDENTS} THEN n ELSE 100 + n - ${INCIDENTS} END AS pid,
             ST_SetSRID(ST_MakePoint(ST_X(geom) + ((('x' || substr(md5(n::text), 1, 4))::bit(16)::int % 80) - 40) * 1.05e-5,
                                     ST_Y(geom) + ((('x' || substr(md5(n::text), 5, 4))::bit(16)::int % 80) - 40) * 0.9e-5), 4326) AS geom
        FROM picked WHERE n <= ${INCIDENTS + RESPONDERS};
      -- Brute-force snap: the nearest edge by geodesic distance over every edge; the point's position
      -- along it located in Web Mercator (conformal: the perpendicular foot in metres, not in degrees).
      CREATE TABLE oracle_snap AS
      SELECT o.pid, s.id AS edge_id, ST_LineLocatePoint(ST_Transform(s.geom, 3857), ST_Transform(o.geom, 3857)) AS fraction, s.d AS snap_m
        FROM oracle_points o CROSS JOIN LATERAL (
          SELECT e.id, e.geom, ST_Distance(e.geom::geography, o.geom::geography) AS d FROM road_edges e ORDER BY d, e.id LIMIT 1) s;`);
    const inc = await t.pool.query<{ id: string; pid: number }>(
      `INSERT INTO incidents (category, priority, status, location, description)
       SELECT 'dispute', 'normal', 'reported', geom, 'oracle ' || pid FROM oracle_points WHERE pid <= ${INCIDENTS} ORDER BY pid
       RETURNING id::text, substr(description, 8)::int AS pid`,
    );
    incidentIds.push(...inc.rows);
    const resp = await t.pool.query<{ id: string; pid: number }>(
      `INSERT INTO responders (kind, name, status, position, position_at)
       SELECT 'patrol', 'p' || pid, 'available', geom, now() FROM oracle_points WHERE pid > 100 ORDER BY pid
       RETURNING id::text, substr(name, 2)::int AS pid`,
    );
    for (const r of resp.rows) responderPid.set(r.id, r.pid);
    uniform = await appWith(t, { speedsKmh: {}, defaultKmh: 20 });
    perClass = await appWith(t);
  }, 300_000);
  afterAll(async () => {
    await uniform?.close();
    await perClass?.close();
    await t?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * pgRouting's cost from incident point `pid` to every responder point, with `cost` as the edge
   * cost expression. A fraction of exactly 0 or 1 (a point projecting onto an edge's end) is moved
   * 1e-6 inside the edge: pgr_withPoints reports such a point as the vertex, not as the point.
   */
  async function oracle(pid: number, cost: string): Promise<Map<number, number>> {
    const { rows } = await t.pool.query<{ end_pid: string; agg_cost: number }>(
      `SELECT end_pid, agg_cost FROM pgr_withPoints(
         $1, 'SELECT pid, edge_id, least(greatest(fraction, 1e-6), 1 - 1e-6) AS fraction FROM oracle_snap WHERE snap_m <= 300',
         -$2::bigint, (SELECT array_agg(-pid::bigint) FROM oracle_snap WHERE pid > 100 AND snap_m <= 300), directed => false)
        WHERE edge = -1`,
      [`SELECT e.id, e.source, e.target, ${cost} AS cost, ${cost} AS reverse_cost FROM road_edges e JOIN roads r ON r.id = e.road_id`, pid],
    );
    return new Map(rows.map((r) => [-Number(r.end_pid), r.agg_cost]));
  }

  async function snaps(): Promise<Map<number, number>> {
    const { rows } = await t.pool.query<{ pid: number; snap_m: number }>('SELECT pid, snap_m FROM oracle_snap');
    return new Map(rows.map((r) => [r.pid, r.snap_m]));
  }

  test('network distances (one speed for all classes) equal pgr_withPoints on length_m within 1%', async (ctx) => {
    if (!pgrouting) return ctx.skip();
    const snap = await snaps();
    let compared = 0;
    let worst = 0;
    for (const { id, pid } of incidentIds) {
      expect(snap.get(pid)!).toBeLessThanOrEqual(300);
      const want = await oracle(pid, 'e.length_m');
      const res = await uniform.inject(`/api/incidents/${id}/candidates?k=20`);
      expect(res.statusCode).toBe(200);
      const got = res.json().candidates as { responderId: string; distanceMetres: number; routed: boolean }[];
      expect(got).toHaveLength(RESPONDERS);
      for (const c of got) {
        const rp = responderPid.get(c.responderId)!;
        const net = want.get(rp);
        if (net === undefined) {
          expect(c.routed, `p${rp} has no path in pgRouting`).toBe(false);
          continue;
        }
        expect(c.routed).toBe(true);
        const expected = net + snap.get(pid)! + snap.get(rp)!;
        worst = Math.max(worst, Math.max(0, Math.abs(c.distanceMetres - expected) - 0.5) / expected);
        // 0.5 of rounding (the API answers whole metres and seconds) on top of 1%.
        expect(Math.abs(c.distanceMetres - expected), `incident ${pid} → p${rp}`).toBeLessThanOrEqual(0.01 * expected + 0.5);
        compared++;
      }
    }
    console.log(`[tests] real roads: ${compared} network distances agree with pgRouting (worst ${(worst * 100).toFixed(3)}% beyond rounding)`);
    expect(compared).toBeGreaterThan(INCIDENTS * RESPONDERS * 0.8);
  });

  test('travel times (speeds per road class) equal pgr_withPoints on length_m / speed within 1%', async (ctx) => {
    if (!pgrouting) return ctx.skip();
    const snap = await snaps();
    const speeds = Object.entries(cfg.speedsKmh).map(([c, v]) => `WHEN '${c}' THEN ${v}`).join(' ');
    const cost = `e.length_m / ((CASE r.class ${speeds} ELSE ${cfg.defaultKmh} END) / 3.6)`;
    let compared = 0;
    let worst = 0;
    for (const { id, pid } of incidentIds) {
      const want = await oracle(pid, cost);
      const got = (await perClass.inject(`/api/incidents/${id}/candidates?k=20`)).json().candidates as { responderId: string; etaSeconds: number; routed: boolean }[];
      for (const c of got) {
        const rp = responderPid.get(c.responderId)!;
        const net = want.get(rp);
        if (net === undefined) continue;
        expect(c.routed).toBe(true);
        const expected = net + (snap.get(pid)! + snap.get(rp)!) / WALK;
        worst = Math.max(worst, Math.max(0, Math.abs(c.etaSeconds - expected) - 0.5) / expected);
        expect(Math.abs(c.etaSeconds - expected), `incident ${pid} → p${rp}`).toBeLessThanOrEqual(0.01 * expected + 0.5);
        compared++;
      }
    }
    console.log(`[tests] real roads: ${compared} travel times agree with pgRouting (worst ${(worst * 100).toFixed(3)}% beyond rounding)`);
    expect(compared).toBeGreaterThan(INCIDENTS * RESPONDERS * 0.8);
  });
});
