/**
 * The planner's validation and impact on the REAL Shanghai buildings (../shared/real-data, Bund /
 * Lujiazui; read in place, never copied): a community over their extent tiled by six grids
 * validates without error; a constructed gap and overlap are found where they are with their
 * areas (within 1 %); the impact of moving a border equals the test's own PostGIS computation.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { haveRealData, shanghaiDir } from '../import/helpers.js';

const buildingsFile = path.join(shanghaiDir, 'buildings.geojson');
const haveData = haveRealData(buildingsFile);
const COMMUNITY = '310115005001';

describe.skipIf(!haveData)('the planner on the real Shanghai buildings', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let box: { x0: number; y0: number; x1: number; y1: number };
  /** Six grids: 3 columns × 2 rows over the community; `xs`/`ys` are the cuts. */
  let xs: number[];
  let ys: number[];

  const rect = (code: string, x0: number, x1: number, y0: number, y1: number) => ({
    type: 'Feature', properties: { code: `${COMMUNITY}${code}`, name: `网格${code}` },
    geometry: { type: 'Polygon', coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] },
  });
  const tiling = (cuts = xs) => ({
    type: 'FeatureCollection',
    features: [0, 1].flatMap((r) => [0, 1, 2].map((c) => rect(`00${r * 3 + c + 1}`, cuts[c], cuts[c + 1], ys[r], ys[r + 1]))),
  });
  const post = (url: string, body: unknown) => app.inject({ method: 'POST', url, payload: body as object });
  const areaOf = async (wkt: string) => (await t.pool.query<{ a: number }>('SELECT ST_Area(ST_GeomFromText($1, 4326)::geography) AS a', [wkt])).rows[0].a;
  const wktBox = (x0: number, x1: number, y0: number, y1: number) => `POLYGON((${x0} ${y0}, ${x1} ${y0}, ${x1} ${y1}, ${x0} ${y1}, ${x0} ${y0}))`;

  beforeAll(async () => {
    t = await createTestDatabase();
    const r = await importGeoJson(t.pool, { layer: 'buildings', file: buildingsFile, reportFile: path.join(tempDir('planner-real'), 'b.json') });
    expect(r.imported).toBeGreaterThan(1000);
    const { rows: [e] } = await t.pool.query<{ x0: number; y0: number; x1: number; y1: number }>(
      `SELECT ST_XMin(x) - 0.001 AS x0, ST_YMin(x) - 0.001 AS y0, ST_XMax(x) + 0.001 AS x1, ST_YMax(x) + 0.001 AS y1 FROM (SELECT ST_Extent(geom)::geometry AS x FROM buildings) q`);
    box = e;
    xs = [box.x0, box.x0 + (box.x1 - box.x0) / 3, box.x0 + (2 * (box.x1 - box.x0)) / 3, box.x1];
    ys = [box.y0, (box.y0 + box.y1) / 2, box.y1];
    const env = `ST_Multi(ST_MakeEnvelope(${box.x0}, ${box.y0}, ${box.x1}, ${box.y1}, 4326))`;
    await t.pool.query(`
      INSERT INTO areas (code, name, geom) VALUES ('310115', '浦东新区', ${env}), ('310115005', '陆家嘴街道', ${env}), ('${COMMUNITY}', '测试社区', ${env})`);
    app = await buildTestApp(t);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  it('six rectangles tiling the community: no error', async () => {
    const res = await post('/api/planner/validate', { communityCode: COMMUNITY, grids: tiling() });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().issues.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
  });

  it('a gap and an overlap constructed between the columns are found where they are, with their areas', async () => {
    const w = (xs[1] - xs[0]) * 0.1;
    const grids = tiling();
    // Row 0: grid 1 stops short of the first cut (a gap); grid 3 reaches over the second (an overlap with grid 2).
    grids.features[0] = rect('001', xs[0], xs[1] - w, ys[0], ys[1]);
    grids.features[1] = rect('002', xs[1], xs[2], ys[0], ys[1]);
    grids.features[2] = rect('003', xs[2] - w, xs[3], ys[0], ys[1]);
    const issues = (await post('/api/planner/validate', { communityCode: COMMUNITY, grids })).json().issues as {
      kind: string; areaSquareMetres: number; location: unknown; gridCodes: string[];
    }[];
    const gap = issues.filter((i) => i.kind === 'gap');
    const overlap = issues.filter((i) => i.kind === 'overlap');
    expect(gap).toHaveLength(1);
    expect(overlap).toHaveLength(1);
    const gapTruth = await areaOf(wktBox(xs[1] - w, xs[1], ys[0], ys[1]));
    const overlapTruth = await areaOf(wktBox(xs[2] - w, xs[2], ys[0], ys[1]));
    expect(Math.abs(gap[0].areaSquareMetres - gapTruth) / gapTruth).toBeLessThan(0.01);
    expect(Math.abs(overlap[0].areaSquareMetres - overlapTruth) / overlapTruth).toBeLessThan(0.01);
    expect(overlap[0].gridCodes).toEqual([`${COMMUNITY}002`, `${COMMUNITY}003`]);
    const inside = async (g: unknown, x: number) =>
      (await t.pool.query<{ ok: boolean }>('SELECT ST_Intersects(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), ST_Point($2, $3, 4326)) AS ok', [JSON.stringify(g), x, (ys[0] + ys[1]) / 2])).rows[0].ok;
    expect(await inside(gap[0].location, xs[1] - w / 2)).toBe(true);
    expect(await inside(overlap[0].location, xs[2] - w / 2)).toBe(true);
  });

  it('the impact of moving a border equals the test\'s own PostGIS computation', async () => {
    // The grids in force are the six rectangles; the proposal moves the first cut east by a fifth of a column.
    await t.pool.query(`INSERT INTO grids (code, name, community_id, geom)
      SELECT f->'properties'->>'code', f->'properties'->>'name', a.id, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326))
        FROM jsonb_array_elements($1::jsonb) f, areas a WHERE a.code = '${COMMUNITY}'`, [JSON.stringify(tiling().features)]);
    const moved = [...xs];
    moved[1] = xs[1] + (xs[1] - xs[0]) / 5;
    const res = await post('/api/planner/impact', { communityCode: COMMUNITY, grids: tiling(moved) });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    const { rows } = await t.pool.query<{ id: string }>(`
      SELECT id::text FROM buildings WHERE ST_Intersects(ST_GeomFromText($1, 4326), ST_PointOnSurface(geom)) ORDER BY id`,
    [`MULTIPOLYGON(((${xs[1]} ${ys[0]}, ${moved[1]} ${ys[0]}, ${moved[1]} ${ys[2]}, ${xs[1]} ${ys[2]}, ${xs[1]} ${ys[0]})))`]);
    expect(rows.length).toBeGreaterThan(0);
    expect(body.changes.buildings.map((b: { id: string }) => b.id)).toEqual(rows.map((r) => r.id));
    const total = (k: 'before' | 'after') => body.grids.reduce((s: number, g: { before: { buildings: number }; after: { buildings: number } }) => s + g[k].buildings, 0);
    const { rows: [all] } = await t.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM buildings');
    expect([total('before'), total('after')]).toEqual([all.n, all.n]);
  });
});
