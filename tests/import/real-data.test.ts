/**
 * The importer on the real Shanghai data (Bund / Lujiazui), read in place from ../shared/real-data,
 * and area/grid fixtures drawn over part of the Bund to check that buildings get their grid.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { box, haveRealData, isSimplePolygon, shanghaiDir, writeCollection } from './helpers.js';

const buildingsFile = path.join(shanghaiDir, 'buildings.geojson');
const roadsFile = path.join(shanghaiDir, 'roads.geojson');
const exists = haveRealData(buildingsFile) && haveRealData(roadsFile);

interface GeoFeature {
  id?: string;
  properties: Record<string, unknown>;
  geometry: { type: string; coordinates: unknown };
}
const load = (f: string) => (JSON.parse(fs.readFileSync(f, 'utf8')) as { features: GeoFeature[] }).features;

// Areas drawn for this test around the Bund (approximate boxes, not official boundaries), with the
// real division codes of 黄浦区 / 外滩街道 / 中山东一路居委会.
const areas = [
  { type: 'Feature', properties: { code: '310101013014', name: '中山东一路居委会' }, geometry: box(121.484, 31.232, 121.4915, 31.2445) },
  { type: 'Feature', properties: { code: '310101', name: '黄浦区' }, geometry: box(121.47, 31.215, 121.495, 31.255) },
  { type: 'Feature', properties: { code: '310101013', name: '外滩街道' }, geometry: box(121.48, 31.228, 121.492, 31.25) },
];
const grids = (splitLat: number) => [
  { type: 'Feature', id: 'g1', properties: { code: '310101013014001', name: '中山东一路第一网格' }, geometry: box(121.484, 31.232, 121.4915, splitLat) },
  { type: 'Feature', id: 'g2', properties: { code: '310101013014002', name: '中山东一路第二网格' }, geometry: box(121.484, splitLat, 121.4915, 31.2445) },
];

describe.skipIf(!exists)('import of the real Shanghai data', () => {
  let t: TestDatabase;
  let dir: string;
  const buildings = exists ? load(buildingsFile) : [];
  const roads = exists ? load(roadsFile) : [];

  beforeAll(async () => {
    t = await createTestDatabase();
    dir = tempDir('import-real');
  });
  afterAll(async () => {
    await t?.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  // Expectations computed from the data independently of the importer: building parts are
  // rejected (each lies inside a building footprint), every other footprint is a simple polygon.
  const parts = buildings.filter((f) => f.properties.kind === 'building_part');
  const simple = buildings.filter((f) => f.properties.kind !== 'building_part' && isSimplePolygon(f.geometry));
  const notSimple = buildings.filter((f) => f.properties.kind !== 'building_part' && !isSimplePolygon(f.geometry));

  test('buildings: every footprint imported, building parts rejected, report written', async () => {
    expect(buildings.length).toBe(1450);
    expect(parts.length).toBe(129);
    expect(notSimple.length).toBe(0);
    const reportFile = path.join(dir, 'buildings-report.json');
    const r = await importGeoJson(t.pool, { layer: 'buildings', file: buildingsFile, reportFile });
    expect(r).toMatchObject({
      features: 1450,
      imported: simple.length,
      inserted: simple.length,
      updated: 0,
      rejected: parts.length,
      rejectedByReason: { 'not a building: building part': parts.length },
      reportFile,
    });
    expect(r.imported).toBe(1321);

    const report = JSON.parse(fs.readFileSync(reportFile, 'utf8'));
    expect(report.counts).toEqual({ features: 1450, imported: 1321, inserted: 1321, updated: 0, rejected: 129 });
    expect(report.source).toBe('buildings');
    expect(report.rejected).toHaveLength(129);
    const expectedIndexes = buildings.flatMap((f, i) => (f.properties.kind === 'building_part' ? [i] : []));
    expect(report.rejected.map((x: { index: number }) => x.index)).toEqual(expectedIndexes);
    for (const x of report.rejected) {
      expect(x.id).toBe(buildings[x.index].id);
      expect(x.reason).toBe('not a building: building part');
    }

    const { rows } = await t.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT source_id)::int AS keys,
              count(*) FILTER (WHERE name IS NOT NULL)::int AS named,
              count(*) FILTER (WHERE height_m IS NOT NULL)::int AS with_height,
              count(*) FILTER (WHERE address IS NOT NULL)::int AS with_address,
              count(*) FILTER (WHERE floors IS NOT NULL)::int AS with_floors
         FROM buildings WHERE source = 'buildings'`,
    );
    const kept = buildings.filter((f) => f.properties.kind !== 'building_part');
    const p = (f: GeoFeature, k: string) => f.properties[k];
    expect(rows[0]).toEqual({
      n: 1321,
      keys: 1321,
      named: kept.filter((f) => p(f, 'name')).length,
      with_height: kept.filter((f) => Number(p(f, 'height')) > 0).length,
      with_address: kept.filter((f) => p(f, 'addr_street') || p(f, 'addr_housenumber')).length,
      with_floors: kept.filter((f) => Number(p(f, 'height')) > 0).length,
    });
    // provenance with the file's attribution
    const ds = await t.pool.query(`SELECT attribution, imported_count, rejected_count FROM data_sources WHERE name = 'buildings' AND layer = 'buildings'`);
    expect(ds.rows[0]).toEqual({
      attribution: JSON.parse(fs.readFileSync(buildingsFile, 'utf8')).attribution,
      imported_count: 1321,
      rejected_count: 129,
    });
    expect(ds.rows[0].attribution).toMatch(/© OpenStreetMap contributors/);
    const tower = await t.pool.query(`SELECT name, height_m, floors, address FROM buildings WHERE source_id = $1`, [
      buildings.find((f) => f.properties.name === '上海中心大厦')!.id,
    ]);
    expect(tower.rows[0]).toMatchObject({ name: '上海中心大厦', height_m: 632, floors: 200 }); // 632/3 capped at 200
    const center = await t.pool.query(`SELECT address, floors FROM buildings WHERE source_id = 'building/40778072'`);
    expect(center.rows[0]).toEqual({ address: '滨江大道2727号', floors: 7 }); // height 20 m → 7 floors
  });

  test('buildings: re-import of the same source is idempotent', async () => {
    const before = await t.pool.query(`SELECT id, source_id FROM buildings ORDER BY source_id`);
    const r = await importGeoJson(t.pool, { layer: 'buildings', file: buildingsFile, reportFile: path.join(dir, 'b2.json') });
    expect(r).toMatchObject({ imported: 1321, inserted: 0, updated: 1321, rejected: 129 });
    const after = await t.pool.query(`SELECT id, source_id FROM buildings ORDER BY source_id`);
    expect(after.rows).toEqual(before.rows); // same rows, same ids, no duplicates
  });

  test('roads: streets imported (multi-lines split into parts), rail and ferry rejected, network noded', async () => {
    const nonRoad = roads.filter((f) => f.properties.kind === 'rail' || f.properties.kind === 'ferry');
    const kept = roads.filter((f) => !nonRoad.includes(f));
    const rowsExpected = kept.reduce(
      (n, f) => n + (f.geometry.type === 'MultiLineString' ? (f.geometry.coordinates as unknown[]).length : 1),
      0,
    );
    expect(nonRoad.length).toBe(16);
    expect(rowsExpected).toBe(1090);
    const steps = new Set<string>();
    const r = await importGeoJson(t.pool, {
      layer: 'roads',
      file: roadsFile,
      reportFile: path.join(dir, 'roads.json'),
      onProgress: (s) => steps.add(s.split(':')[0]),
    });
    expect(r).toMatchObject({
      features: 1094,
      imported: 1078,
      inserted: 1078,
      updated: 0,
      rejected: 16,
      rejectedByReason: { 'not a road: rail': 11, 'not a road: ferry': 5 },
    });
    expect([...steps]).toEqual(expect.arrayContaining(['read', 'validate', 'import', 'noding']));

    const { rows } = await t.pool.query(
      `SELECT count(*)::int AS n, count(DISTINCT source_id)::int AS keys,
              count(*) FILTER (WHERE source_id LIKE '%#part%')::int AS parts,
              count(*) FILTER (WHERE bridge)::int AS bridges, count(*) FILTER (WHERE tunnel)::int AS tunnels,
              count(*) FILTER (WHERE oneway)::int AS oneway
         FROM roads WHERE source = 'roads'`,
    );
    const multi = kept.filter((f) => f.geometry.type === 'MultiLineString');
    const rowsOf = (pred: (f: GeoFeature) => boolean) =>
      kept.filter(pred).reduce((n, f) => n + (f.geometry.type === 'MultiLineString' ? (f.geometry.coordinates as unknown[]).length : 1), 0);
    expect(rows[0]).toEqual({
      n: 1090,
      keys: 1090,
      parts: multi.reduce((n, f) => n + (f.geometry.coordinates as unknown[]).length, 0),
      bridges: rowsOf((f) => f.properties.is_bridge === true),
      tunnels: rowsOf((f) => f.properties.is_tunnel === true),
      oneway: rowsOf((f) => f.properties.oneway === 'yes'),
    });
    const classes = await t.pool.query(`SELECT class, count(*)::int AS n FROM roads GROUP BY class ORDER BY class`);
    expect(classes.rows.map((x) => x.class)).toEqual(expect.arrayContaining(['primary', 'secondary', 'footway', 'service', 'residential']));
    expect(classes.rows.map((x) => x.class)).not.toContain('subway');

    const net = await t.pool.query(
      `SELECT (SELECT count(*) FROM road_nodes)::int AS nodes, (SELECT count(*) FROM road_edges)::int AS edges,
              (SELECT count(DISTINCT road_id) FROM road_edges)::int AS roads_with_edges,
              (SELECT version = noded_version FROM road_network_state) AS fresh`,
    );
    expect(net.rows[0].fresh).toBe(true);
    expect(net.rows[0].roads_with_edges).toBe(1090);
    expect(net.rows[0].edges).toBeGreaterThan(1090);
    expect(net.rows[0].nodes).toBeGreaterThan(1000);
    console.log(`[tests] real roads: ${net.rows[0].nodes} nodes, ${net.rows[0].edges} edges`);

    const report = JSON.parse(fs.readFileSync(r.reportFile, 'utf8'));
    expect(report.roadNetwork).toEqual({ nodes: net.rows[0].nodes, edges: net.rows[0].edges });
    expect(report.rejected.map((x: { index: number }) => x.index)).toEqual(
      roads.flatMap((f, i) => (nonRoad.includes(f) ? [i] : [])),
    );
  }, 300_000);

  test('roads: re-import is idempotent', async () => {
    const before = await t.pool.query(`SELECT id, source_id FROM roads ORDER BY source_id`);
    const netBefore = await t.pool.query(`SELECT count(*)::int AS n FROM road_edges`);
    const r = await importGeoJson(t.pool, { layer: 'roads', file: roadsFile, reportFile: path.join(dir, 'r2.json') });
    expect(r).toMatchObject({ imported: 1078, inserted: 0, updated: 1078, rejected: 16 });
    const after = await t.pool.query(`SELECT id, source_id FROM roads ORDER BY source_id`);
    expect(after.rows).toEqual(before.rows);
    const netAfter = await t.pool.query(`SELECT count(*)::int AS n FROM road_edges`);
    expect(netAfter.rows[0].n).toBe(netBefore.rows[0].n);
  }, 300_000);

  test('areas and grids: imported from fixtures; buildings get their grid (both import orders)', async () => {
    const areasFile = writeCollection(dir, 'areas.geojson', areas);
    const ra = await importGeoJson(t.pool, { layer: 'areas', file: areasFile });
    // Default report path beside the input.
    expect(ra.reportFile).toBe(`${areasFile}.import-report.json`);
    expect(fs.existsSync(ra.reportFile)).toBe(true);
    expect(ra).toMatchObject({ imported: 3, inserted: 3, rejected: 0 }); // file order community-first: sorted by level
    const lv = await t.pool.query(
      `SELECT a.code, a.level, p.code AS parent, d.code AS district FROM areas a
         LEFT JOIN areas p ON p.id = a.parent_id LEFT JOIN areas d ON d.id = a.district_id ORDER BY a.code`,
    );
    expect(lv.rows).toEqual([
      { code: '310101', level: 'district', parent: null, district: '310101' },
      { code: '310101013', level: 'street', parent: '310101', district: '310101' },
      { code: '310101013014', level: 'community', parent: '310101013', district: '310101' },
    ]);

    // An open incident reported before the grids exist (near the Bund, inside the future grid 2).
    await t.pool.query(
      `INSERT INTO incidents (category, description, location) VALUES ('dispute', '邻里纠纷', ST_SetSRID(ST_MakePoint(121.489, 31.241), 4326))`,
    );
    // Grids after buildings: the grid triggers assign the already imported buildings.
    const gridsFile = writeCollection(dir, 'grids.geojson', grids(31.2385));
    const rg = await importGeoJson(t.pool, { layer: 'grids', file: gridsFile });
    expect(rg).toMatchObject({ imported: 2, inserted: 2, rejected: 0 });
    const oracle = `
      SELECT count(*)::int AS total,
             count(*) FILTER (WHERE b.grid_id IS NOT DISTINCT FROM
               (SELECT g.id FROM grids g WHERE ST_Within(ST_PointOnSurface(b.geom), g.geom) ORDER BY g.code LIMIT 1))::int AS agree,
             count(b.grid_id)::int AS assigned,
             count(*) FILTER (WHERE b.grid_id IS NOT NULL AND b.district_id = (SELECT id FROM areas WHERE code = '310101'))::int AS with_district
        FROM buildings b`;
    const a1 = (await t.pool.query(oracle)).rows[0];
    expect(a1.agree).toBe(a1.total);
    expect(a1.assigned).toBeGreaterThan(100);
    expect(a1.with_district).toBe(a1.assigned);
    const incident = await t.pool.query(`SELECT g.code FROM incidents i JOIN grids g ON g.id = i.grid_id`);
    expect(incident.rows).toEqual([{ code: '310101013014002' }]);
    const perGrid = await t.pool.query(`SELECT g.code, count(b.id)::int AS n FROM grids g LEFT JOIN buildings b ON b.grid_id = g.id GROUP BY g.code ORDER BY g.code`);
    expect(perGrid.rows.every((x) => x.n > 0)).toBe(true);

    // Moving the boundary (re-import of the grids, an update) re-assigns the buildings.
    const moved = await importGeoJson(t.pool, { layer: 'grids', file: writeCollection(dir, 'grids.geojson', grids(31.236)) });
    expect(moved).toMatchObject({ imported: 2, inserted: 0, updated: 2 });
    const a2 = (await t.pool.query(oracle)).rows[0];
    expect(a2.agree).toBe(a2.total);
    const perGrid2 = await t.pool.query(`SELECT g.code, count(b.id)::int AS n FROM grids g LEFT JOIN buildings b ON b.grid_id = g.id GROUP BY g.code ORDER BY g.code`);
    expect(perGrid2.rows[0].n).toBeLessThan(perGrid.rows[0].n);
    expect(perGrid2.rows[0].n + perGrid2.rows[1].n).toBe(perGrid.rows[0].n + perGrid.rows[1].n);

    // Buildings after grids: the insert trigger assigns them.
    await t.pool.query(`DELETE FROM buildings`);
    const rb = await importGeoJson(t.pool, { layer: 'buildings', file: buildingsFile, reportFile: path.join(dir, 'b3.json') });
    expect(rb.inserted).toBe(1321);
    const a3 = (await t.pool.query(oracle)).rows[0];
    expect(a3).toEqual(a2);
  }, 300_000);

  test('a report path that cannot be written falls back to the temp dir', async () => {
    const file = writeCollection(dir, 'one.geojson', [
      { type: 'Feature', id: 'x', properties: { code: '310101', name: '黄浦区' }, geometry: null },
    ]);
    const r = await importGeoJson(t.pool, { layer: 'areas', file, reportFile: path.join(dir, 'no-such-dir', 'r.json') });
    expect(r.imported).toBe(1);
    expect(path.dirname(r.reportFile)).toBe(path.resolve(os.tmpdir()));
    expect(JSON.parse(fs.readFileSync(r.reportFile, 'utf8')).counts.imported).toBe(1);
    fs.rmSync(r.reportFile);
    // A codes-only re-import keeps the geometry drawn before.
    const g = await t.pool.query(`SELECT geom IS NOT NULL AS has FROM areas WHERE code = '310101'`);
    expect(g.rows[0].has).toBe(true);
  });
});
