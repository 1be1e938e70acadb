import { proposalImpactSql, validateProposalSql } from '../../server/src/modules/planner/planner.query.js';
import type { Database } from '../../server/src/db/database.js';
import { fmt, httpPost, median, percentile, timed, type Row } from './stats.js';
import { arcsOf, fromGrids, timeRebuild, type GridCollection } from '../../web/src/modules/planner/engine/index.js';

const ROUNDS = 20;

/** POST with a JSON body (keep-alive, lighter than fetch); fails on a non-2xx. */
async function postJson(url: string, body: string, cookie: string): Promise<void> {
  const res = await httpPost(url, body, { cookie, 'accept-encoding': 'gzip' });
  if (res.status >= 300) throw new Error(`${url}: HTTP ${res.status}`);
}

/**
 * The planner's validate and impact (issue 13) for a community of the city preset with the most
 * buildings, redrawn as 24 grids (its polygon cut by a 6 × 4 lattice): the endpoint (HTTP, JSON)
 * against the statement it runs, sent straight through `pg`, alternating in one run.
 */
export async function benchPlanner(database: Database, origin: string, cookie: string): Promise<Row[]> {
  const { rows: [c] } = await database.pool.query<{ code: string; buildings: number; grids: unknown[] }>(`
    WITH c AS (
      SELECT a.code, a.geom, (SELECT count(*)::int FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE g.community_id = a.id) AS buildings
        FROM areas a WHERE a.level = 'community' ORDER BY 3 DESC, a.code LIMIT 1
    ),
    e AS (SELECT c.*, ST_XMin(c.geom) AS x0, ST_YMin(c.geom) AS y0, (ST_XMax(c.geom) - ST_XMin(c.geom)) / 6 AS dx, (ST_YMax(c.geom) - ST_YMin(c.geom)) / 4 AS dy FROM c),
    cells AS (
      SELECT e.code, row_number() OVER (ORDER BY j, i) AS n,
             ST_Multi(ST_CollectionExtract(ST_Intersection(e.geom, ST_MakeEnvelope(x0 + i * dx, y0 + j * dy, x0 + (i + 1) * dx, y0 + (j + 1) * dy, 4326)), 3)) AS geom
        FROM e, generate_series(0, 5) i, generate_series(0, 3) j
    )
    SELECT (SELECT code FROM c) AS code, (SELECT buildings FROM c) AS buildings,
           jsonb_agg(jsonb_build_object('type', 'Feature', 'properties', jsonb_build_object('code', code || lpad(n::text, 3, '0'), 'name', '网格' || n),
             'geometry', ST_AsGeoJSON(geom, 9)::jsonb) ORDER BY n) AS grids
      FROM cells WHERE NOT ST_IsEmpty(geom)`);
  const fc = { type: 'FeatureCollection', features: c.grids };
  const body = JSON.stringify({ communityCode: c.code, grids: fc });
  const validate = validateProposalSql(c.code, c.grids).compile(database.db);
  const impact = proposalImpactSql(c.code, c.grids, {}).compile(database.db);
  const cases = [
    { what: 'validate', url: `${origin}/api/planner/validate`, raw: validate },
    { what: 'impact', url: `${origin}/api/planner/impact`, raw: impact },
  ];
  const out: Row[] = [];
  for (const k of cases) {
    const ours: number[] = [];
    const raw: number[] = [];
    for (let i = 0; i < ROUNDS + 2; i++) {
      const a = await timed(() => postJson(k.url, body, cookie));
      const b = await timed(() => database.pool.query(k.raw.sql, k.raw.parameters as unknown[]));
      if (i >= 2) {
        ours.push(a);
        raw.push(b);
      }
    }
    out.push({
      what: `${k.what}: community ${c.code}, ${c.grids.length} grids, ${c.buildings} buildings (ms)`,
      ours: `p50 ${fmt(median(ours))} · p95 ${fmt(percentile(ours, 95))}`,
      baseline: `p50 ${fmt(median(raw))} · p95 ${fmt(percentile(raw, 95))}`,
      ratio: `${fmt(median(ours) / median(raw), 2)}× (p95 ${fmt(percentile(ours, 95) / percentile(raw, 95), 2)}×)`,
      note: 'endpoint vs its SQL via pg; goal ≤ 1.5×',
    });
  }
  // The browser's edit engine on the same 24 grids: after a vertex edit it rebuilds the grids that use the
  // touched arc, not the whole community (web/src/modules/planner/engine).
  const state = fromGrids(fc as GridCollection);
  const shared = state.features.map((f) => f.properties.code).flatMap((code) => arcsOf(state, code)).find((a) => a.shared);
  if (shared) {
    const t = timeRebuild(state, [shared.arc], 200);
    out.push({
      what: `client: rebuild after an edit of a shared border (${t.touchedGrids} of ${t.grids} grids) (ms)`,
      ours: fmt(t.touchedMs, 3),
      baseline: `${fmt(t.fullMs, 3)} (every grid)`,
      ratio: `${fmt(t.ratio, 2)}×`,
      note: 'touched grids vs whole community, in Node on the same code; goal ≤ 0.2×',
    });
  }
  return out;
}
