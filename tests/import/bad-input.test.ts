/**
 * Bad input, one kind per test: the bad feature is rejected with its reason while the valid
 * features of the same file are imported.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { importGeoJson, type ImportResult, type Layer } from '../../geo-data/src/import/index.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { box, building, squareRing, writeCollection } from './helpers.js';

let t: TestDatabase;
let dir: string;
let n = 0;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = tempDir('import-bad');
});
afterAll(async () => {
  await t?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

const good = () => [building('ok-1', squareRing(121.49, 31.24)), building('ok-2', squareRing(121.491, 31.241))];

/** Imports `features` as `layer`; returns the result and the parsed report. */
async function run(layer: Layer, features: unknown[], extra: { crs?: string } = {}) {
  const file = writeCollection(dir, `case-${++n}.geojson`, features);
  const result = await importGeoJson(t.pool, { layer, file, source: `case-${n}`, ...extra });
  const report = JSON.parse(fs.readFileSync(result.reportFile, 'utf8'));
  return { result, report, source: `case-${n}` };
}

async function buildingKeys(source: string): Promise<string[]> {
  const { rows } = await t.pool.query(`SELECT source_id FROM buildings WHERE source = $1 ORDER BY source_id`, [source]);
  return rows.map((r) => r.source_id);
}

/** The bad feature (index 1 of 3) is rejected with `reason`; the two good ones are imported. */
async function expectOneRejected(features: unknown[], reason: string, detail?: RegExp) {
  const { result, report, source } = await run('buildings', [features[0], features[1], features[2]]);
  expect(result).toMatchObject<Partial<ImportResult>>({ features: 3, imported: 2, inserted: 2, rejected: 1, rejectedByReason: { [reason]: 1 } });
  expect(report.rejected).toHaveLength(1);
  expect(report.rejected[0]).toMatchObject({ index: 1, id: 'bad', reason });
  if (detail) expect(report.rejected[0].detail).toMatch(detail);
  expect(await buildingKeys(source)).toEqual(['ok-1', 'ok-2']);
  return report.rejected[0];
}

function withBad(bad: unknown) {
  const [a, b] = good();
  return [a, bad, b];
}

describe('bad input is rejected per feature', () => {
  beforeEach(async () => {
    await t.pool.query('DELETE FROM buildings');
  });

  test('self-intersection (bow-tie)', async () => {
    const bowTie = [[121.5, 31.23], [121.501, 31.231], [121.501, 31.23], [121.5, 31.231], [121.5, 31.23]];
    const r = await expectOneRejected(withBad(building('bad', bowTie)), 'invalid geometry: Self-intersection', /Self-intersection\[/);
    expect(r.detail).toContain('121.5005');
  });

  test('unclosed ring', async () => {
    const ring = squareRing(121.5, 31.23).slice(0, 4).concat([[121.5, 31.23]]);
    await expectOneRejected(withBad(building('bad', ring)), 'unclosed ring', /differs from last/);
  });

  test('NaN coordinate (bare NaN token, as Python writes it)', async () => {
    const file = path.join(dir, 'nan.geojson');
    const text = JSON.stringify({ type: 'FeatureCollection', features: withBad(building('bad', squareRing(121.5, 31.23))) });
    // Replace the first coordinate of the bad feature by a bare NaN: not valid JSON any more.
    const bad = text.indexOf('"id":"bad"');
    const at = text.indexOf('[[[', bad) + 3;
    const end = text.indexOf(',', at);
    fs.writeFileSync(file, text.slice(0, at) + 'NaN' + text.slice(end));
    const result = await importGeoJson(t.pool, { layer: 'buildings', file, source: 'nan' });
    expect(result).toMatchObject({ imported: 2, rejected: 1, rejectedByReason: { 'invalid coordinate: not a finite number': 1 } });
    expect(await buildingKeys('nan')).toEqual(['ok-1', 'ok-2']);
  });

  test('non-numeric and null coordinates', async () => {
    const ring: unknown[] = squareRing(121.5, 31.23);
    ring[2] = ['121.5', 31.23];
    await expectOneRejected(withBad(building('bad', ring)), 'invalid coordinate: not a finite number', /"121.5"/);
    const ring2: unknown[] = squareRing(121.5, 31.23);
    ring2[1] = [null, 31.23];
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad(building('bad', ring2)), 'invalid coordinate: not a finite number');
  });

  test('out-of-range coordinates', async () => {
    await expectOneRejected(withBad(building('bad', squareRing(200, 31.23))), 'coordinates out of range', /outside lon/);
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad(building('bad', squareRing(121.5, 95))), 'coordinates out of range');
  });

  test('wrong geometry type', async () => {
    await expectOneRejected(
      withBad({ type: 'Feature', id: 'bad', properties: {}, geometry: { type: 'Point', coordinates: [121.5, 31.23] } }),
      'wrong geometry type: Point',
      /Polygon or MultiPolygon/,
    );
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(
      withBad({ type: 'Feature', id: 'bad', properties: {}, geometry: { type: 'LineString', coordinates: [[121.5, 31.23], [121.6, 31.23]] } }),
      'wrong geometry type: LineString',
    );
    // and roads refuse polygons
    const { result } = await run('roads', [building('bad', squareRing(121.5, 31.23))]);
    expect(result.rejectedByReason).toEqual({ 'wrong geometry type: Polygon': 1 });
  });

  test('absurd size: too many vertices, too large an extent', async () => {
    const many: [number, number][] = [];
    const N = 100_001;
    for (let i = 0; i < N; i++) {
      const a = (2 * Math.PI * i) / N;
      many.push([121.5 + 0.001 * Math.cos(a), 31.23 + 0.001 * Math.sin(a)]);
    }
    many.push(many[0]);
    await expectOneRejected(withBad(building('bad', many)), 'too many vertices', /more than 100000/);
    await t.pool.query('DELETE FROM buildings');
    const huge = box(121, 31, 121.5, 31.5).coordinates[0];
    await expectOneRejected(withBad(building('bad', huge)), 'too large', /exceeds 0.05°/);
  });

  test('too few points and empty geometry', async () => {
    const tri = [[121.5, 31.23], [121.501, 31.23], [121.5, 31.23]];
    await expectOneRejected(withBad(building('bad', tri)), 'too few points', /at least 4/);
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad({ type: 'Feature', id: 'bad', properties: {}, geometry: { type: 'Polygon', coordinates: [] } }), 'empty geometry');
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad({ type: 'Feature', id: 'bad', properties: {}, geometry: null }), 'missing geometry');
    // a degenerate ring: 4 positions, no area
    await t.pool.query('DELETE FROM buildings');
    const flat = [[121.5, 31.23], [121.501, 31.23], [121.502, 31.23], [121.5, 31.23]];
    const { result } = await run('buildings', withBad(building('bad', flat)));
    expect(result).toMatchObject({ imported: 2, rejected: 1 });
    expect(Object.keys(result.rejectedByReason)[0]).toMatch(/^invalid geometry: /); // GEOS: Self-intersection
  });

  test('invalid attribute and not a building', async () => {
    await expectOneRejected(withBad(building('bad', squareRing(121.5, 31.23), { height: 'tall' })), 'invalid attribute: height');
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad(building('bad', squareRing(121.5, 31.23), { name: 'x'.repeat(201) })), 'invalid attribute: name');
    await t.pool.query('DELETE FROM buildings');
    await expectOneRejected(withBad(building('bad', squareRing(121.5, 31.23), { kind: 'building_part' })), 'not a building: building part');
  });

  test('features with OSM ids are attributed to OpenStreetMap unless the file or the caller says otherwise', async () => {
    const osm = [building('way/1', squareRing(121.5, 31.23), { osm_id: 1 })];
    const file = writeCollection(dir, 'osm.geojson', osm);
    await importGeoJson(t.pool, { layer: 'buildings', file });
    const own = writeCollection(dir, 'own.geojson', osm, { attribution: 'Own survey 2025' });
    await importGeoJson(t.pool, { layer: 'buildings', file: own });
    await importGeoJson(t.pool, { layer: 'buildings', file, source: 'given', attribution: '© Given' });
    const { rows } = await t.pool.query(`SELECT name, attribution FROM data_sources WHERE name IN ('osm', 'own', 'given') ORDER BY name`);
    expect(rows).toEqual([
      { name: 'given', attribution: '© Given' },
      { name: 'osm', attribution: '© OpenStreetMap contributors' },
      { name: 'own', attribution: 'Own survey 2025' },
    ]);
  });

  test('duplicate key in one file: the first wins', async () => {
    const [a, b] = good();
    const dup = building('ok-1', squareRing(121.5, 31.23));
    const { result, report } = await run('buildings', [a, dup, b]);
    expect(result).toMatchObject({ imported: 2, rejected: 1, rejectedByReason: { 'duplicate feature key': 1 } });
    expect(report.rejected[0]).toMatchObject({ index: 1, id: 'ok-1' });
  });

  test('features without any id are keyed by their geometry, so re-import stays idempotent', async () => {
    const noId = [squareRing(121.5, 31.23), squareRing(121.501, 31.23)].map((r) => ({ type: 'Feature', properties: {}, geometry: { type: 'Polygon', coordinates: [r] } }));
    const file = writeCollection(dir, 'noid.geojson', noId);
    const first = await importGeoJson(t.pool, { layer: 'buildings', file });
    const second = await importGeoJson(t.pool, { layer: 'buildings', file });
    expect(first).toMatchObject({ inserted: 2, rejected: 0 });
    expect(second).toMatchObject({ inserted: 0, updated: 2 });
    const keys = await buildingKeys('noid');
    expect(keys).toHaveLength(2);
    expect(keys.every((k) => /^geom:[0-9a-f]{40}$/.test(k))).toBe(true);
    // no OSM ids, no attribution in the file: none recorded
    const ds = await t.pool.query(`SELECT attribution, imported_count FROM data_sources WHERE name = 'noid' AND layer = 'buildings'`);
    expect(ds.rows).toEqual([{ attribution: null, imported_count: 2 }]);
  });

  test('coordinates outside the projection\'s domain are rejected (transform must invert)', async () => {
    // EPSG:4549 (CGCS2000 GK CM 120E): the bad feature's northing is far outside the projection's
    // domain; PROJ returns plausible-looking coordinates for it, the round trip exposes them.
    const sq = (e: number, nn: number) => [[e, nn], [e + 20, nn], [e + 20, nn + 20], [e, nn + 20], [e, nn]];
    const features = [building('ok-1', sq(640000, 3457000)), building('bad', sq(640000, 1e12)), building('ok-2', sq(641000, 3457000))];
    const { result, report, source } = await run('buildings', features, { crs: 'EPSG:4549' });
    expect(result).toMatchObject({ imported: 2, rejected: 1, rejectedByReason: { 'coordinates out of range': 1 } });
    expect(report.rejected[0].detail).toMatch(/domain|transform/i);
    expect(await buildingKeys(source)).toEqual(['ok-1', 'ok-2']);
  });

  test('whatever else the database refuses rejects only that feature (the batch is bisected)', async () => {
    // A constraint the importer does not know about, added for this test only.
    await t.pool.query(`ALTER TABLE buildings ADD CONSTRAINT test_forbidden_name CHECK (name IS DISTINCT FROM 'forbidden')`);
    try {
      const features = Array.from({ length: 40 }, (_, i) =>
        building(`f${String(i).padStart(2, '0')}`, squareRing(121.48 + i * 0.001, 31.23), { name: i === 27 ? 'forbidden' : `b${i}` }),
      );
      const { result, report, source } = await run('buildings', features);
      expect(result).toMatchObject({ imported: 39, inserted: 39, rejected: 1 });
      expect(report.rejected).toEqual([
        expect.objectContaining({ index: 27, id: 'f27', reason: expect.stringMatching(/^rejected by the database: .*test_forbidden_name/) }),
      ]);
      expect(await buildingKeys(source)).toHaveLength(39);
    } finally {
      await t.pool.query(`ALTER TABLE buildings DROP CONSTRAINT test_forbidden_name`);
    }
  });
});

describe('roads', () => {
  test('a MultiLineString with one bad part is rejected whole; good multi-lines become parts', async () => {
    const line = (x: number) => [[x, 31.23], [x + 0.001, 31.231]];
    const features = [
      { type: 'Feature', id: 'm1', properties: { highway: 'residential' }, geometry: { type: 'MultiLineString', coordinates: [line(121.5), line(121.51)] } },
      { type: 'Feature', id: 'm2', properties: { highway: 'residential' }, geometry: { type: 'MultiLineString', coordinates: [line(121.52), [[121.53, 31.23]]] } },
      { type: 'Feature', id: 'r1', properties: { kind: 'rail', kind_detail: 'subway' }, geometry: { type: 'LineString', coordinates: line(121.54) } },
      { type: 'Feature', id: 'r2', properties: { railway: 'rail' }, geometry: { type: 'LineString', coordinates: line(121.55) } },
      { type: 'Feature', id: 'o1', properties: { highway: 'primary', oneway: '-1', layer: '1', bridge: 'yes' }, geometry: { type: 'LineString', coordinates: line(121.56) } },
      { type: 'Feature', id: 'l1', properties: { highway: 'primary', layer: 9 }, geometry: { type: 'LineString', coordinates: line(121.57) } },
    ];
    const { result, report, source } = await run('roads', features);
    expect(result).toMatchObject({
      features: 6,
      imported: 2,
      rejected: 4,
      rejectedByReason: { 'too few points': 1, 'not a road: rail': 2, 'invalid attribute: layer': 1 },
    });
    expect(report.rejected.map((r: { id: string }) => r.id)).toEqual(['m2', 'r1', 'r2', 'l1']);
    const { rows } = await t.pool.query(
      `SELECT source_id, class, oneway, bridge, layer, ST_X(ST_StartPoint(geom)) AS x0 FROM roads WHERE source = $1 ORDER BY source_id`,
      [source],
    );
    expect(rows.map((r) => r.source_id)).toEqual(['m1#part1', 'm1#part2', 'o1']);
    // oneway=-1 is stored reversed and one-way
    expect(rows[2]).toMatchObject({ class: 'primary', oneway: true, bridge: true, layer: 1, x0: 121.561 });
  });
});

describe('areas and grids', () => {
  beforeAll(async () => {
    await t.pool.query('DELETE FROM grids');
    await t.pool.query('DELETE FROM areas');
  });

  const area = (code: unknown, name: unknown, geometry: unknown = null, id?: string) => ({
    type: 'Feature',
    ...(id ? { id } : {}),
    properties: { ...(code !== undefined ? { code } : {}), ...(name !== undefined ? { name } : {}) },
    geometry,
  });

  test('missing code, invalid code, missing name, missing parent', async () => {
    const { result, report } = await run('areas', [
      area('310101', '黄浦区', box(121.47, 31.215, 121.495, 31.255)),
      area(undefined, '无代码', null, 'no-code'),
      area('3101010', '七位', null, 'seven'),
      area('310101013', undefined, null, 'no-name'),
      area('310101013', '外滩街道'),
      area('310101013014', '中山东一路居委会', box(121.484, 31.232, 121.4915, 31.2445)),
      area('310101099001', '无上级', null, 'orphan'), // street 310101099 does not exist
      area(310101002, '南京东路街道'), // a numeric code is fine
    ]);
    expect(result).toMatchObject({
      features: 8,
      imported: 4,
      rejected: 4,
      rejectedByReason: {
        'missing property: code': 1,
        'invalid property: code': 1,
        'missing property: name': 1,
        'parent area not found': 1,
      },
    });
    expect(report.rejected.map((r: { id: string; reason: string }) => [r.id, r.reason])).toEqual([
      ['no-code', 'missing property: code'],
      ['seven', 'invalid property: code'],
      ['no-name', 'missing property: name'],
      ['orphan', 'parent area not found'],
    ]);
    const { rows } = await t.pool.query(`SELECT code, level FROM areas ORDER BY code`);
    expect(rows).toEqual([
      { code: '310101', level: 'district' },
      { code: '310101002', level: 'street' },
      { code: '310101013', level: 'street' },
      { code: '310101013014', level: 'community' },
    ]);
  });

  test('grid code whose community does not exist; grid code of a street', async () => {
    const grid = (code: string, id: string, g = box(121.485, 31.233, 121.487, 31.235)) => ({ type: 'Feature', id, properties: { code, name: `网格 ${id}` }, geometry: g });
    const { result, report } = await run('grids', [
      grid('310101013014001', 'ok-1'),
      grid('310101013099001', 'no-community'),
      grid('310101013014002', 'ok-2', box(121.487, 31.233, 121.489, 31.235)),
      grid('3101010130140', 'short'),
      { type: 'Feature', id: 'no-name', properties: { code: '310101013014003' }, geometry: box(121.489, 31.233, 121.49, 31.235) },
    ]);
    expect(result).toMatchObject({
      imported: 2,
      rejected: 3,
      rejectedByReason: { 'community not found': 1, 'invalid property: code': 1, 'missing property: name': 1 },
    });
    expect(report.rejected.find((r: { id: string }) => r.id === 'no-community').detail).toContain('310101013099');
    const { rows } = await t.pool.query(`SELECT g.code, a.code AS community FROM grids g JOIN areas a ON a.id = g.community_id ORDER BY g.code`);
    expect(rows).toEqual([
      { code: '310101013014001', community: '310101013014' },
      { code: '310101013014002', community: '310101013014' },
    ]);
  });
});

describe('transactions', () => {
  test('a crash mid-import leaves nothing behind', async () => {
    await t.pool.query('DELETE FROM buildings');
    const features = Array.from({ length: 1200 }, (_, i) => building(`f${i}`, squareRing(121.48 + (i % 40) * 0.0005, 31.23 + Math.floor(i / 40) * 0.0005, 10)));
    const file = writeCollection(dir, 'crash.geojson', features);
    let calls = 0;
    await expect(
      importGeoJson(t.pool, {
        layer: 'buildings',
        file,
        onProgress: (step, done) => {
          if (step === 'import' && done > 0 && ++calls === 2) throw new Error('simulated crash');
        },
      }),
    ).rejects.toThrow('simulated crash');
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM buildings`);
    expect(rows[0].n).toBe(0);
    // and the same file imports completely afterwards
    const r = await importGeoJson(t.pool, { layer: 'buildings', file });
    expect(r).toMatchObject({ imported: 1200, inserted: 1200 });
  });

  test('not GeoJSON at all is an error for the whole file', async () => {
    const file = path.join(dir, 'not.geojson');
    fs.writeFileSync(file, '{"type": "Topology"}');
    await expect(importGeoJson(t.pool, { layer: 'buildings', file })).rejects.toThrow(/FeatureCollection/);
    fs.writeFileSync(file, '{oops');
    await expect(importGeoJson(t.pool, { layer: 'buildings', file })).rejects.toThrow(/not valid JSON/);
  });
});
