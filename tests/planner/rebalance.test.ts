/**
 * The rebalancing assistant (issue 13): a grid above the household bound gets the split along the street inside
 * it that balances households best (checked against the test's own count of households on each side of each
 * street); two small neighbours get a merge, a small grid beside a big one does not; what the assistant proposes
 * the browser's engine can apply (the split line cuts the grid in two there).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '@wangge/geo-data';
import { call, COMMUNITY1, session, setupEnv, type Env, type Session } from '../incidents/support.js';
import { createTestDatabase } from '../support/database.js';
import { rebalanceProposals } from '../../server/src/modules/planner/planner.repository.js';
import { findCommunity, gridsInForce } from '../../server/src/modules/planner/planner.repository.js';

let env: Env;
let planner: Session;

/** Households west of each x of grid 001 (121.480–121.485): 200 west of A路, 300 between A and B, 350 east of B. */
const A = 121.4815, B = 121.4830, C = 121.4842;
const HOUSES: [number, number][] = [[121.4805, 120], [121.4810, 80], [121.4822, 300], [121.4836, 150], [121.4846, 200]];

const box = (code: string, x0: number, x1: number, y0 = 31.23, y1 = 31.24) => ({
  type: 'Feature' as const,
  properties: { code: `${COMMUNITY1}${code}`, name: `网格${code}` },
  geometry: { type: 'Polygon' as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] },
});
const plan = (...features: ReturnType<typeof box>[]) => ({ type: 'FeatureCollection' as const, features });
const rebalance = (grids: unknown, cookie = planner.cookie) => call(env, 'POST', '/api/planner/rebalance', { cookie, body: { communityCode: COMMUNITY1, grids } });

beforeAll(async () => {
  env = await setupEnv();
  planner = await session(env, 'planner', COMMUNITY1);
  // the test's own buildings and streets over community 1 (a 10 m building at each x, mid-height)
  await env.db.pool.query(`DELETE FROM buildings WHERE geom && ST_MakeEnvelope(121.48, 31.23, 121.49, 31.24, 4326)`);
  for (const [x, households] of HOUSES) {
    await env.db.pool.query(
      `INSERT INTO buildings (households, geom, source, source_id) VALUES ($1, ST_Multi(ST_MakeEnvelope($2::float8, 31.2350, $2::float8 + 0.0001, 31.2351, 4326)), 'rebalance-test', $3)`,
      [households, x, String(x)],
    );
  }
  // A路 and B路 cross the grid south to north (B路 in two pieces that meet); C路 ends inside it
  await env.db.pool.query(`
    INSERT INTO roads (name, class, geom, source, source_id) VALUES
      ('A路', 'residential', ST_GeomFromText('LINESTRING(${A} 31.228, ${A} 31.242)', 4326), 'rebalance-test', 'a'),
      ('B路', 'residential', ST_GeomFromText('LINESTRING(${B} 31.228, ${B + 0.0002} 31.236)', 4326), 'rebalance-test', 'b1'),
      ('B路', 'residential', ST_GeomFromText('LINESTRING(${B + 0.0002} 31.236, ${B} 31.242)', 4326), 'rebalance-test', 'b2'),
      ('C路', 'residential', ST_GeomFromText('LINESTRING(${C} 31.228, ${C} 31.236)', 4326), 'rebalance-test', 'c')`);
});
afterAll(async () => {
  await env?.close();
});

/** Households west and east of a street at `x` (at the buildings' latitude), by the test's own sum. */
function sides(x: number): [number, number] {
  const west = HOUSES.filter(([hx]) => hx + 0.00005 < x).reduce((s, [, h]) => s + h, 0);
  const total = HOUSES.reduce((s, [, h]) => s + h, 0);
  return [west, total - west];
}

describe('rebalance', () => {
  it('splits a grid above the bound along the street that balances households best', async () => {
    const res = await rebalance(plan(box('001', 121.48, 121.485), box('002', 121.485, 121.49)));
    expect(res.statusCode, res.body).toBe(200);
    const splits = res.json().proposals.filter((p: { kind: string }) => p.kind === 'split');
    expect(splits).toHaveLength(1);
    const [split] = splits;
    // the street whose sides differ least, by the test's own count (B路: 500 / 350; A路: 200 / 650; C路 does not cross)
    const best = [['A路', A], ['B路', B + 0.0002]].map(([name, x]) => ({ name, d: Math.abs(sides(x as number)[0] - sides(x as number)[1]), s: sides(x as number) }))
      .sort((p, q) => p.d - q.d)[0]!;
    expect(split.street).toBe(best.name);
    expect([...split.households].sort((p: number, q: number) => p - q)).toEqual([...best.s].sort((p, q) => p - q));
    expect(split.codes).toEqual([`${COMMUNITY1}001`]);
    // the line crosses the grid: both ends outside it, and PostGIS splits the grid in two along it
    const { rows } = await env.db.pool.query<{ parts: number; outside: boolean }>(
      `SELECT ST_NumGeometries(ST_Split(g, l)) AS parts, NOT ST_Intersects(ST_StartPoint(l), g) AND NOT ST_Intersects(ST_EndPoint(l), g) AS outside
         FROM (SELECT ST_MakeEnvelope(121.48, 31.23, 121.485, 31.24, 4326) AS g, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326) AS l) t`,
      [JSON.stringify(split.line)],
    );
    expect(rows[0]).toEqual({ parts: 2, outside: true });
  });

  it('merges two small neighbours, never a small grid with one above the bound', async () => {
    // 002, 003 and 004 have no households (small) and share borders; 001 (big) borders 002 and 004
    const res = await rebalance(plan(box('001', 121.48, 121.485), box('002', 121.485, 121.4875, 31.23, 31.235), box('003', 121.4875, 121.49, 31.23, 31.235), box('004', 121.485, 121.49, 31.235, 31.24)));
    expect(res.statusCode, res.body).toBe(200);
    const merges = res.json().proposals.filter((p: { kind: string }) => p.kind === 'merge').map((p: { codes: string[] }) => p.codes.join('+'));
    const c = (n: string) => `${COMMUNITY1}${n}`;
    expect(merges).toContain(`${c('002')}+${c('003')}`);
    expect(merges).toContain(`${c('002')}+${c('004')}`);
    expect(merges).toContain(`${c('003')}+${c('004')}`);
    expect(merges.some((m: string) => m.includes(c('001')))).toBe(false);
  });

  it('proposes nothing for grids within bounds, and answers like validate for bad input and scope', async () => {
    const ok = await rebalance(plan(box('001', 121.48, 121.4825), box('002', 121.4825, 121.49)));
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json().proposals.filter((p: { kind: string }) => p.kind === 'split')).toEqual([]);
    const out = await call(env, 'POST', '/api/planner/rebalance', { cookie: planner.cookie, body: { communityCode: '310101002002', grids: plan() } });
    expect(out.statusCode).toBe(404);
    const bad = await rebalance({ type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'x', name: 'y' }, geometry: { type: 'Point', coordinates: [0, 0] } }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_GEOMETRY');
  });
});

describe('rebalance on generated streets', () => {
  it('proposes a split for each grid above the bound that a street crosses; streets along borders are no candidates', async () => {
    // Generated grids follow streets: a street a hair inside a border once made ST_Split fail (and took the
    // embedded database down with it); here every such street is left out and the database keeps answering.
    const db = await createTestDatabase();
    try {
      await generate(db.pool, { preset: 'tiny', seed: 1 });
      const code = (await db.pool.query<{ code: string }>(`SELECT left(code, 12) AS code FROM grids GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1`)).rows[0].code;
      const community = (await findCommunity(db.app.db, code))!;
      const grids = await gridsInForce(db.app.db, community.id);
      const rows = await rebalanceProposals(db.app.db, code, grids.features);
      const big = (await db.pool.query<{ code: string }>(
        `SELECT g.code FROM grids g WHERE left(g.code, 12) = $1
           AND (SELECT coalesce(sum(b.households), 0) FROM buildings b WHERE ST_Intersects(g.geom, ST_PointOnSurface(b.geom))) > 600`, [code])).rows.map((r) => r.code);
      expect(big.length).toBeGreaterThan(0);
      const splits = rows.filter((r) => r.kind === 'split');
      expect(splits.length).toBeGreaterThan(0);
      for (const s of splits) expect(big).toContain(s.codes[0]);
      expect((await db.pool.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
    } finally {
      await db.drop();
    }
  }, 120_000);
});
