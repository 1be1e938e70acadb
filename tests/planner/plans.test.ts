/**
 * The grid planner's server (issue 13): validation finds each constructed gap, overlap and piece
 * outside where it is, with the area (within 1 %); impact equals an independent PostGIS
 * computation; versions publish from the latest only (racing publishes: one 201, one 409), are
 * refused with errors or unbound successors, take effect now or at their date exactly once by the
 * timer; retired grids are seen by no reader, closed incidents keep theirs, boundaries have history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, COMMUNITY1, COMMUNITY2, session, setupEnv, type Env, type Session } from '../incidents/support.js';
import { applyDueGridPlansForSystem } from '../../server/src/modules/planner/planner.service.js';
import { decodeTile, tileAt } from '../api/tiles-fixtures.js';

let env: Env;
let planner: Session;
let gridPlanner: Session; // a planner scoped to one grid: reads only
let viewer: Session;

/** The newest audit row before this file's writes. */
let auditBefore = 0;

beforeAll(async () => {
  env = await setupEnv();
  auditBefore = (await env.db.pool.query<{ id: number }>('SELECT coalesce(max(id), 0)::bigint AS id FROM audit_log')).rows[0].id;
  planner = await session(env, 'planner', COMMUNITY1);
  gridPlanner = await session(env, 'planner', `${COMMUNITY1}001`);
  viewer = await session(env, 'viewer', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

/** One round of the system's timer for grid plans, without a live hub to wake. */
const applyDueGridPlans = () => applyDueGridPlansForSystem({ db: env.db.db, live: { wake() {} } });

/** A grid of community 1 over [x0, x1] × [31.23, 31.24]. */
const box = (code: string, x0: number, x1: number, y0 = 31.23, y1 = 31.24) => ({
  type: 'Feature' as const,
  properties: { code: `${COMMUNITY1}${code}`, name: `网格${code}` },
  geometry: { type: 'Polygon' as const, coordinates: [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]] },
});
const plan = (...features: ReturnType<typeof box>[]) => ({ type: 'FeatureCollection' as const, features });
const validate = (grids: unknown, cookie = planner.cookie, communityCode = COMMUNITY1) =>
  call(env, 'POST', '/api/planner/validate', { cookie, body: { communityCode, grids } });
/** Area of a GeoJSON geometry in m², by PostGIS (the test's own measure). */
const areaOf = async (geometry: unknown) =>
  (await env.db.pool.query<{ a: number }>('SELECT ST_Area(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326)::geography) AS a', [JSON.stringify(geometry)])).rows[0].a;
const intersects = async (a: unknown, wkt: string) =>
  (await env.db.pool.query<{ ok: boolean }>('SELECT ST_Intersects(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), ST_GeomFromText($2, 4326)) AS ok', [JSON.stringify(a), wkt])).rows[0].ok;

describe('validate', () => {
  it('the grids in force tile the community: no error', async () => {
    const res = await validate(plan(box('001', 121.48, 121.485), box('002', 121.485, 121.49)));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().issues.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
  });

  it('an empty proposal: the whole community is one gap', async () => {
    const res = await validate(plan());
    expect(res.statusCode, res.body).toBe(200);
    const [gap] = res.json().issues;
    expect(gap).toMatchObject({ kind: 'gap', severity: 'error', gridCodes: [] });
    const truth = await areaOf({ type: 'Polygon', coordinates: [[[121.48, 31.23], [121.49, 31.23], [121.49, 31.24], [121.48, 31.24], [121.48, 31.23]]] });
    expect(Math.abs(gap.areaSquareMetres - truth) / truth).toBeLessThan(0.01);
  });

  it('finds a gap where it is, with its area, and offers it to the neighbour with the longest shared border', async () => {
    // 001 stops at 121.484: a strip 121.484–121.485 is covered by no grid.
    const res = await validate(plan(box('001', 121.48, 121.484), box('002', 121.485, 121.49)));
    const gaps = res.json().issues.filter((i: { kind: string }) => i.kind === 'gap');
    expect(gaps).toHaveLength(1);
    const [gap] = gaps;
    expect(gap.severity).toBe('error');
    expect(await intersects(gap.location, 'POLYGON((121.484 31.23, 121.485 31.23, 121.485 31.24, 121.484 31.24, 121.484 31.23))')).toBe(true);
    const truth = await areaOf(box('x', 121.484, 121.485).geometry);
    expect(Math.abs(gap.areaSquareMetres - truth) / truth).toBeLessThan(0.01);
    // Both neighbours share the strip's whole height: the tie goes to the first code.
    expect(gap.fix.grids.map((g: { code: string }) => g.code)).toEqual([`${COMMUNITY1}001`]);
    const fixed = await validate(plan({ ...box('001', 121.48, 121.484), geometry: gap.fix.grids[0].geometry }, box('002', 121.485, 121.49)));
    expect(fixed.json().issues.filter((i: { severity: string }) => i.severity === 'error')).toEqual([]);
  });

  it('finds an overlap and a piece outside the community, each where it is, with the area', async () => {
    const res = await validate(plan(box('001', 121.48, 121.4855), box('002', 121.485, 121.4905)));
    const issues = res.json().issues as { kind: string; location: unknown; areaSquareMetres: number; gridCodes: string[]; fix?: { grids: { code: string; geometry: unknown }[] } }[];
    const overlap = issues.find((i) => i.kind === 'overlap')!;
    expect(overlap.gridCodes).toEqual([`${COMMUNITY1}001`, `${COMMUNITY1}002`]);
    const overlapTruth = await areaOf(box('x', 121.485, 121.4855).geometry);
    expect(Math.abs(overlap.areaSquareMetres - overlapTruth) / overlapTruth).toBeLessThan(0.01);
    expect(await intersects(overlap.location, 'POINT(121.48525 31.235)')).toBe(true);
    const outside = issues.find((i) => i.kind === 'outside_community')!;
    expect(outside.gridCodes).toEqual([`${COMMUNITY1}002`]);
    const outsideTruth = await areaOf(box('x', 121.49, 121.4905).geometry);
    expect(Math.abs(outside.areaSquareMetres - outsideTruth) / outsideTruth).toBeLessThan(0.01);
    expect(await intersects(outside.location, 'POINT(121.49025 31.235)')).toBe(true);
  });

  it('codes, slivers, sizes and households: each named, with its severity', async () => {
    const sliver = box('003', 121.48999, 121.49); // ~0.95 m wide
    const res = await validate(plan(box('001', 121.48, 121.485), { ...box('002', 121.485, 121.48999), properties: { code: '310101002001001', name: '重号' } }, sliver,
      { ...box('004', 121.48, 121.4801, 31.2301, 31.2302), properties: { code: '12345', name: '错码' } }));
    const kinds = res.json().issues.map((i: { kind: string; severity: string }) => `${i.kind}:${i.severity}`);
    expect(kinds).toEqual(expect.arrayContaining(['duplicate_code:error', 'bad_code:error', 'sliver:error', 'too_small:warning', 'overlap:error']));
    // Households: the fixture's 12 buildings of 24 households — 001 holds 7 (168), 002 holds 5 (120);
    // the sliver none, below the bound of 50.
    const households = res.json().issues.filter((i: { kind: string }) => i.kind === 'households_out_of_range').map((i: { gridCodes: string[] }) => i.gridCodes[0]);
    expect(households).toContain(`${COMMUNITY1}003`);
    expect(households).not.toContain(`${COMMUNITY1}001`);
  });

  it('an invalid (self-intersecting) grid is an issue at its place; an unclosed ring, a coordinate out of range or a wrong shape is 400', async () => {
    const bowtie = { ...box('001', 121.48, 121.485), geometry: { type: 'Polygon' as const, coordinates: [[[121.48, 31.23], [121.485, 31.24], [121.485, 31.23], [121.48, 31.24], [121.48, 31.23]]] } };
    const res = await validate(plan(bowtie, box('002', 121.485, 121.49)));
    const invalid = res.json().issues.find((i: { kind: string }) => i.kind === 'invalid_geometry');
    expect(invalid).toMatchObject({ severity: 'error', gridCodes: [`${COMMUNITY1}001`] });
    expect(invalid.message).toMatch(/self-intersection/i);

    const unclosed = { ...box('001', 121.48, 121.485), geometry: { type: 'Polygon', coordinates: [[[121.48, 31.23], [121.485, 31.23], [121.485, 31.24], [121.48, 31.24]]] } };
    for (const bad of [
      plan(unclosed as never),
      plan({ ...box('001', 121.48, 121.485), geometry: { type: 'Polygon', coordinates: [[[200, 31.23], [121.485, 31.23], [121.485, 31.24], [200, 31.23]]] } } as never),
      plan({ ...box('001', 121.48, 121.485), geometry: { type: 'Point', coordinates: [121.48, 31.23] } } as never),
      { type: 'FeatureCollection', features: 'none' },
    ]) {
      const r = await validate(bad);
      expect(r.statusCode, r.body).toBe(400);
      expect(r.json().code).toBe('INVALID_GEOMETRY');
      expect(r.headers['content-type']).toMatch(/problem\+json/);
    }
  });

  it('scope and permission: a community outside the area is 404, a grid-scoped planner validates but may not publish (the matrix has every role)', async () => {
    expect((await validate(plan(), planner.cookie, COMMUNITY2)).statusCode).toBe(404);
    expect((await validate(plan(), planner.cookie, '310101002009')).statusCode).toBe(404);
    expect((await validate(plan(box('001', 121.48, 121.49)), gridPlanner.cookie)).statusCode).toBe(200);
    expect((await validate(plan(box('001', 121.48, 121.49)), viewer.cookie)).statusCode).toBe(200);
    const publish = await call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, {
      cookie: gridPlanner.cookie, body: { grids: plan(box('001', 121.48, 121.49)), baseVersion: 0, note: '合并' },
    });
    expect(publish.statusCode).toBe(403);
    const byViewer = await call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, {
      cookie: viewer.cookie, body: { grids: plan(box('001', 121.48, 121.49)), baseVersion: 0, note: '合并' },
    });
    expect(byViewer.statusCode).toBe(403);
  });
});

describe('bounds', () => {
  it('read by the planner; set by an admin of the whole installation only (checked, audited); validation follows them', async () => {
    const started = new Date();
    const read = await call(env, 'GET', '/api/planner/settings', { cookie: planner.cookie });
    expect(read.json()).toMatchObject({ tooSmallSquareMetres: 5000, tooLargeSquareMetres: 1_000_000, minHouseholds: 50, maxHouseholds: 600, sliverRadiusMetres: 2, gapOverlapToleranceSquareMetres: 1 });
    const { updatedAt: _u, ...defaults } = read.json();
    const raised = { ...defaults, tooSmallSquareMetres: 600_000 };
    expect((await call(env, 'PUT', '/api/planner/settings', { cookie: planner.cookie, body: raised })).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // Without a cookie the test app is an admin of '*'.
    expect((await call(env, 'PUT', '/api/planner/settings', { body: { ...raised, tooLargeSquareMetres: 1 } })).json()).toMatchObject({ status: 422, code: 'INVALID_PARAMETER' });
    expect((await call(env, 'PUT', '/api/planner/settings', { body: { ...raised, extra: 1 } })).statusCode).toBe(400);
    expect((await call(env, 'PUT', '/api/planner/settings', { body: raised })).statusCode).toBe(200);
    // Each grid of the fixture (~0.5 km²) is now too small.
    const issues = (await validate(plan(box('001', 121.48, 121.485), box('002', 121.485, 121.49)))).json().issues;
    expect(issues.filter((i: { kind: string }) => i.kind === 'too_small')).toHaveLength(2);
    expect((await call(env, 'PUT', '/api/planner/settings', { body: defaults })).statusCode).toBe(200);
    // (The audit log is append-only and outlives a test database emptied between files: count this test's rows.)
    const audit = await env.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'grid.plan.settings' AND at >= $1`, [started]);
    expect(audit.rows[0].n).toBe(2);
  });
});

describe('impact', () => {
  it('equals an independent PostGIS computation: buildings by point on surface, open incidents by point, before and after', async () => {
    const proposal = plan(box('001', 121.48, 121.4835), box('002', 121.4835, 121.49));
    const res = await call(env, 'POST', '/api/planner/impact', { cookie: planner.cookie, body: { communityCode: COMMUNITY1, grids: proposal } });
    expect(res.statusCode, res.body).toBe(200);
    const body = res.json();
    // The test's own computation.
    const { rows: moved } = await env.db.pool.query<{ id: string }>(`
      SELECT b.id::text FROM buildings b
       WHERE ST_Intersects(ST_MakeEnvelope(121.4835, 31.23, 121.485, 31.24, 4326), ST_PointOnSurface(b.geom)) ORDER BY b.id`);
    expect(body.changes.buildings.map((b: { id: string }) => b.id)).toEqual(moved.map((m) => m.id));
    expect(body.changes.buildings.every((b: { from: string; to: string }) => b.from === `${COMMUNITY1}001` && b.to === `${COMMUNITY1}002`)).toBe(true);
    const { rows: [counts] } = await env.db.pool.query<{ before1: number; after1: number; inc_moved: number }>(`
      SELECT (SELECT count(*)::int FROM buildings WHERE ST_Intersects(ST_MakeEnvelope(121.48, 31.23, 121.485, 31.24, 4326), ST_PointOnSurface(geom))) AS before1,
             (SELECT count(*)::int FROM buildings WHERE ST_Intersects(ST_MakeEnvelope(121.48, 31.23, 121.4835, 31.24, 4326), ST_PointOnSurface(geom))) AS after1,
             (SELECT count(*)::int FROM incidents WHERE status <> 'closed' AND ST_Intersects(ST_MakeEnvelope(121.4835, 31.23, 121.485, 31.24, 4326), location)) AS inc_moved`);
    const g1 = body.grids.find((g: { code: string }) => g.code === `${COMMUNITY1}001`);
    expect([g1.before.buildings, g1.after.buildings]).toEqual([counts.before1, counts.after1]);
    expect(g1.before.households - g1.after.households).toBe(24 * (counts.before1 - counts.after1));
    expect(body.changes.incidents).toHaveLength(counts.inc_moved);
    expect(body.changes.responders).toEqual([]);
  });
});

describe('versions', () => {
  const publish = (body: Record<string, unknown>, cookie = planner.cookie) =>
    call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie, body });
  const inForce = async () => (await env.db.pool.query<{ code: string; xmax: number }>(
    `SELECT code, round(ST_XMax(geom)::numeric, 4)::float8 AS xmax FROM grids WHERE code LIKE '${COMMUNITY1}%' ORDER BY code`)).rows;

  it('before the first plan, version 0 is the grids in force', async () => {
    const res = await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: viewer.cookie });
    expect(res.json()).toMatchObject({ latestVersion: 0, versions: [{ version: 0, applied: true, grids: 2 }] });
    const v0 = await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/0`, { cookie: viewer.cookie });
    expect(v0.json().features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual([`${COMMUNITY1}001`, `${COMMUNITY1}002`]);
  });

  it('refuses a plan with errors (422 PROPOSAL_INVALID with the issues) and one that drops a bound code without a successor (422 SUCCESSOR_REQUIRED)', async () => {
    const gap = await publish({ grids: plan(box('001', 121.48, 121.484), box('002', 121.485, 121.49)), baseVersion: 0, note: '有缝' });
    expect(gap.statusCode).toBe(422);
    expect(gap.json()).toMatchObject({ code: 'PROPOSAL_INVALID', issues: [expect.objectContaining({ kind: 'gap' })] });
    // Merging both into 003 drops 001 and 002, where the fixture's responders live.
    const merged = plan(box('003', 121.48, 121.49));
    const unbound = await publish({ grids: merged, baseVersion: 0, note: '合并' });
    expect(unbound.statusCode).toBe(422);
    expect(unbound.json().code).toBe('SUCCESSOR_REQUIRED');
    expect(unbound.json().codes.map((c: { code: string }) => c.code)).toEqual([`${COMMUNITY1}001`, `${COMMUNITY1}002`]);
    expect(await inForce()).toEqual([{ code: `${COMMUNITY1}001`, xmax: 121.485 }, { code: `${COMMUNITY1}002`, xmax: 121.49 }]);
  });

  it('racing publishes from one base: one 201, one 409; the border moves, buildings and open incidents follow, closed incidents keep their grid, boundaries keep their history', async () => {
    const closedBefore = (await env.db.pool.query(`SELECT i.id::text, g.code FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE i.status = 'closed' ORDER BY i.id`)).rows;
    const a = plan(box('001', 121.48, 121.4835), box('002', 121.4835, 121.49));
    const b = plan(box('001', 121.48, 121.4865), box('002', 121.4865, 121.49));
    const [ra, rb] = await Promise.all([publish({ grids: a, baseVersion: 0, note: '东移' }), publish({ grids: b, baseVersion: 0, note: '西移' })]);
    expect([ra.statusCode, rb.statusCode].sort()).toEqual([201, 409]);
    const won = ra.statusCode === 201 ? 0.4835 : 0.4865;
    const lost = ra.statusCode === 201 ? rb : ra;
    expect(lost.json()).toMatchObject({ code: 'VERSION_CONFLICT', latestVersion: 1 });
    expect((ra.statusCode === 201 ? ra : rb).json()).toMatchObject({ version: 1, applied: true });
    expect(await inForce()).toEqual([{ code: `${COMMUNITY1}001`, xmax: 121 + won }, { code: `${COMMUNITY1}002`, xmax: 121.49 }]);
    // Buildings follow (by point on surface), as do open incidents; closed ones keep theirs.
    const { rows: [wrong] } = await env.db.pool.query<{ n: number }>(`
      SELECT count(*)::int AS n FROM buildings b JOIN grids g ON g.id = b.grid_id WHERE NOT ST_Intersects(g.geom, ST_PointOnSurface(b.geom))`);
    expect(wrong.n).toBe(0);
    const { rows: [openWrong] } = await env.db.pool.query<{ n: number }>(`
      SELECT count(*)::int AS n FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE i.status <> 'closed' AND NOT ST_Intersects(g.geom, i.location)`);
    expect(openWrong.n).toBe(0);
    expect((await env.db.pool.query(`SELECT i.id::text, g.code FROM incidents i JOIN grid_records g ON g.id = i.grid_id WHERE i.status = 'closed' ORDER BY i.id`)).rows).toEqual(closedBefore);
    // The boundary history: 001 had the old border until now, the new one since.
    const { rows: spans } = await env.db.pool.query<{ xmax: number; open: boolean; version: number | null }>(`
      SELECT round(ST_XMax(b.geom)::numeric, 4)::float8 AS xmax, upper_inf(b.valid) AS open, v.version
        FROM grid_boundaries b JOIN grid_records g ON g.id = b.grid_id LEFT JOIN grid_plan_versions v ON v.id = b.version_id
       WHERE g.code = '${COMMUNITY1}001' ORDER BY lower(b.valid)`);
    expect(spans).toEqual([{ xmax: 121.485, open: false, version: null }, { xmax: 121 + won, open: true, version: 1 }]);
    // The list: version 0 (before the first plan) and 1.
    const list = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: viewer.cookie })).json();
    expect(list.versions.map((v: { version: number; applied: boolean }) => [v.version, v.applied])).toEqual([[0, true], [1, true]]);
  });

  it('a future version takes effect when the timer runs at its date, exactly once; successors take the responders and accounts of a retired grid, which no reader sees', async () => {
    const latest = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie })).json().latestVersion;
    const worker = await session(env, 'grid_worker', `${COMMUNITY1}002`);
    const merged = plan(box('003', 121.48, 121.49));
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const res = await publish({ grids: merged, baseVersion: latest, note: '两格合并', effectiveFrom: later, successors: { [`${COMMUNITY1}001`]: `${COMMUNITY1}003`, [`${COMMUNITY1}002`]: `${COMMUNITY1}003` } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ version: latest + 1, applied: false });
    // Not yet: nothing changes, and the timer finds nothing due.
    expect(await applyDueGridPlans()).toBe(0);
    expect((await inForce()).map((g) => g.code)).toEqual([`${COMMUNITY1}001`, `${COMMUNITY1}002`]);
    // Its time comes (the version's date moved into the past): two timers at once apply it once.
    await env.db.pool.query(`UPDATE grid_plan_versions SET effective_from = now() - interval '1 second' WHERE version = $1`, [latest + 1]);
    const runs = await Promise.all([applyDueGridPlans(), applyDueGridPlans()]);
    expect(runs.reduce((a, b) => a + b, 0)).toBe(1);
    expect((await inForce()).map((g) => g.code)).toEqual([`${COMMUNITY1}003`]);
    expect(await applyDueGridPlans()).toBe(0);
    // The retired grids are kept, not deleted, and seen by no reader: collections, the grid summary.
    expect((await env.db.pool.query(`SELECT count(*)::int AS n FROM grid_records WHERE retired_at IS NOT NULL AND code LIKE '${COMMUNITY1}%'`)).rows[0].n).toBe(2);
    const items = (await call(env, 'GET', '/api/collections/grids/items?limit=100', { cookie: planner.cookie })).json();
    expect(items.features.map((f: { properties: { code: string } }) => f.properties.code)).toEqual([`${COMMUNITY1}003`]);
    // Responders and the grid worker's account moved to the successor.
    const { rows: [bound] } = await env.db.pool.query<{ responders: number; stale: number; account: string }>(`
      SELECT (SELECT count(*)::int FROM responders r JOIN grids g ON g.id = r.home_grid_id WHERE g.code = '${COMMUNITY1}003') AS responders,
             (SELECT count(*)::int FROM responders r JOIN grid_records g ON g.id = r.home_grid_id WHERE g.retired_at IS NOT NULL) AS stale,
             (SELECT area_code FROM users WHERE id = $1) AS account`, [worker.id]);
    expect(bound).toMatchObject({ stale: 0, account: `${COMMUNITY1}003` });
    expect(bound.responders).toBeGreaterThanOrEqual(4);
    // Every building of the community is in the new grid.
    const { rows: [b] } = await env.db.pool.query<{ n: number; in003: number }>(`
      SELECT count(*)::int AS n, count(*) FILTER (WHERE g.code = '${COMMUNITY1}003')::int AS in003 FROM buildings x LEFT JOIN grids g ON g.id = x.grid_id`);
    expect(b.in003).toBe(b.n);
  });

  it('the map shows the new borders at once: TileJSON names the new generation, its tiles hold the grids in force, the stream announces it', async () => {
    const events = (await env.db.pool.query(`SELECT data FROM live_events WHERE type = 'grids.changed' ORDER BY id`)).rows.map((r) => r.data);
    expect(events.map((e) => e.communityCode)).toEqual([COMMUNITY1, COMMUNITY1]);
    const generation = (await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM grid_plan_versions WHERE applied_at IS NOT NULL')).rows[0].n;
    expect(events.at(-1).generation).toBe(generation);
    const tilejson = (await call(env, 'GET', '/tiles/grids.json', { cookie: planner.cookie })).json();
    expect(tilejson.tiles[0]).toMatch(new RegExp(`/tiles/grids/\\{z\\}/\\{x\\}/\\{y\\}\\?v=${generation}$`));
    const { z, x, y } = tileAt(121.485, 31.235, 15);
    const tile = await env.app.inject({ method: 'GET', url: `/tiles/grids/${z}/${x}/${y}?v=${generation}`, headers: { cookie: planner.cookie } });
    expect(tile.statusCode).toBe(200);
    const codes = decodeTile(new Uint8Array(tile.rawPayload)).grids.map((f) => f.properties.code);
    expect([...new Set(codes)]).toEqual([`${COMMUNITY1}003`]);
    // The layers that are not drawn from grids keep their URLs.
    expect((await call(env, 'GET', '/tiles/roads.json', { cookie: planner.cookie })).json().tiles[0]).not.toContain('?v=');
  });

  it('a retried publish with the same Idempotency-Key is answered once; a stale base is 409 with the latest version', async () => {
    const latest = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie })).json().latestVersion;
    const body = { grids: plan(box('003', 121.48, 121.49)), baseVersion: latest, note: '名称不变，再发布一次' };
    const headers = { 'idempotency-key': `plan-${latest}` };
    const first = await call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie, body, headers });
    const retry = await call(env, 'POST', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie, body, headers });
    expect([first.statusCode, retry.statusCode]).toEqual([201, 201]);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    const stale = await publish({ ...body, baseVersion: latest });
    expect(stale.json()).toMatchObject({ status: 409, code: 'VERSION_CONFLICT', latestVersion: latest + 1 });
    // The audit log outlives a test database emptied between files (embedded mode): this file's rows only.
    const audit = await env.db.pool.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'grid.plan.publish' AND id > $1`, [auditBefore]);
    expect(audit.rows[0].n).toBe(3);
  });
});

describe('history', () => {
  it('the diff between two versions: what changed shape, with the area that changed hands; added and removed grids', async () => {
    const v1 = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/1`, { cookie: viewer.cookie })).json();
    const x = v1.features[0].geometry.coordinates[0][1][0] as number; // 001's east edge in version 1
    const d01 = await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/0/diff/1`, { cookie: viewer.cookie });
    expect(d01.statusCode, d01.body).toBe(200);
    const strip = await areaOf(box('x', Math.min(x, 121.485), Math.max(x, 121.485)).geometry);
    for (const g of d01.json().grids) {
      expect(g.change).toBe('changed');
      expect(Math.abs(g.changedArea - strip) / strip).toBeLessThan(0.01);
      expect(await intersects(g.changed, `POINT(${(x + 121.485) / 2} 31.235)`)).toBe(true);
    }
    const d12 = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/1/diff/2`, { cookie: viewer.cookie })).json();
    expect(d12.grids.map((g: { code: string; change: string }) => [g.code.slice(-3), g.change])).toEqual([['001', 'removed'], ['002', 'removed'], ['003', 'added']]);
    expect((await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/0/diff/99`, { cookie: viewer.cookie })).statusCode).toBe(404);
  });
});

describe('drafts', () => {
  it('kept on the server from the latest version, saved over their revision (409 when stale), listed for the area\'s planners, deleted by their author or an admin', async () => {
    const other = await session(env, 'planner', COMMUNITY1);
    const elsewhere = await session(env, 'planner', COMMUNITY2);
    const created = await call(env, 'POST', '/api/planner/drafts', { cookie: planner.cookie, body: { communityCode: COMMUNITY1 } });
    expect(created.statusCode, created.body).toBe(201);
    const d = created.json();
    const versions = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions`, { cookie: planner.cookie })).json();
    const latest = (await call(env, 'GET', `/api/planner/communities/${COMMUNITY1}/versions/${versions.latestVersion}`, { cookie: planner.cookie })).json();
    expect(d).toMatchObject({ communityCode: COMMUNITY1, baseVersion: versions.latestVersion, revision: 1, history: { undo: [], redo: [] }, author: { id: planner.id } });
    expect(d.grids).toEqual(latest);

    // Saved with its undo history; a save from the old revision is refused and changes nothing.
    const edited = plan(box('003', 121.48, 121.485), box('004', 121.485, 121.49));
    const history = { undo: [{ kind: 'split', code: `${COMMUNITY1}003` }], redo: [] };
    const saved = await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie, body: { expectedRevision: 1, grids: edited, history } });
    expect(saved.statusCode, saved.body).toBe(200);
    expect(saved.json()).toMatchObject({ revision: 2, history, grids: edited });
    const stale = await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: other.cookie, body: { expectedRevision: 1, grids: plan(), history: { undo: [], redo: [] } } });
    expect(stale.json()).toMatchObject({ status: 409, code: 'VERSION_CONFLICT', revision: 2 });
    expect((await call(env, 'GET', `/api/planner/drafts/${d.id}`, { cookie: other.cookie })).json()).toMatchObject({ revision: 2, grids: edited });
    // An unclosed ring is refused like anywhere else.
    const unclosed = { ...box('003', 121.48, 121.485), geometry: { type: 'Polygon', coordinates: [[[121.48, 31.23], [121.485, 31.23], [121.485, 31.24], [121.48, 31.24]]] } };
    expect((await call(env, 'PUT', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie, body: { expectedRevision: 2, grids: plan(unclosed as never), history } })).statusCode).toBe(400);

    // Listed for the planners of the area, not elsewhere; a planner elsewhere gets 404.
    expect((await call(env, 'GET', '/api/planner/drafts', { cookie: other.cookie })).json().drafts.map((x: { id: string }) => x.id)).toContain(d.id);
    expect((await call(env, 'GET', '/api/planner/drafts', { cookie: elsewhere.cookie })).json().drafts).toEqual([]);
    expect((await call(env, 'GET', `/api/planner/drafts/${d.id}`, { cookie: elsewhere.cookie })).statusCode).toBe(404);
    expect((await call(env, 'POST', '/api/planner/drafts', { cookie: elsewhere.cookie, body: { communityCode: COMMUNITY1 } })).statusCode).toBe(404);
    // A viewer or a grid-scoped planner keeps no drafts.
    expect((await call(env, 'POST', '/api/planner/drafts', { cookie: viewer.cookie, body: { communityCode: COMMUNITY1 } })).statusCode).toBe(403);
    expect((await call(env, 'POST', '/api/planner/drafts', { cookie: gridPlanner.cookie, body: { communityCode: COMMUNITY1 } })).statusCode).toBe(403);

    // Deleted by its author (not by another planner), audited.
    expect((await call(env, 'DELETE', `/api/planner/drafts/${d.id}`, { cookie: other.cookie })).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const gone = await call(env, 'DELETE', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie });
    expect(gone.statusCode).toBe(204);
    expect((await call(env, 'GET', `/api/planner/drafts/${d.id}`, { cookie: planner.cookie })).statusCode).toBe(404);
    const audit = await env.db.pool.query(`SELECT actor_id::text AS actor FROM audit_log WHERE action = 'grid.plan.draft_delete' AND entity_id = $1`, [d.id]);
    expect(audit.rows).toEqual([{ actor: planner.id }]);
  });
});
