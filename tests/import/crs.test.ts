/**
 * --crs on import: GCJ02 and BD09 (gcoord), EPSG codes (PostGIS ST_Transform, proj4 fallback),
 * unknown codes.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CGCS2000_PROJ4, jsTransformToWgs84, parseCrs, wgs84To } from '../../geo-data/src/crs.js';
import { importGeoJson } from '../../geo-data/src/import/index.js';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { building, distanceM, squareRing, writeCollection, type Pos } from './helpers.js';

let t: TestDatabase;
let dir: string;

beforeAll(async () => {
  t = await createTestDatabase();
  dir = tempDir('import-crs');
});
afterAll(async () => {
  await t?.drop();
  fs.rmSync(dir, { recursive: true, force: true });
});

// Known WGS84 places: the Bund, Lujiazui, Shanghai Tower, West Lake (Hangzhou), Fengqiao (Zhuji).
const truth: [string, Pos][] = [
  ['bund', [121.4903, 31.2400]],
  ['lujiazui', [121.5055, 31.2397]],
  ['tower', [121.50553, 31.23352]],
  ['xihu', [120.1485, 30.2424]],
  ['fengqiao', [120.3317, 29.6531]],
];

/** Imported rings of `source`, by source_id. */
async function rings(source: string): Promise<Map<string, Pos[]>> {
  const { rows } = await t.pool.query(
    `SELECT source_id, ST_AsGeoJSON(geom, 15)::json -> 'coordinates' -> 0 -> 0 AS ring FROM buildings WHERE source = $1`,
    [source],
  );
  return new Map(rows.map((r) => [r.source_id, r.ring as Pos[]]));
}

function maxError(got: Map<string, Pos[]>, want: Map<string, Pos[]>): number {
  let worst = 0;
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [id, ring] of want) {
    const g = got.get(id)!;
    expect(g).toHaveLength(ring.length);
    ring.forEach((p, i) => (worst = Math.max(worst, distanceM(p, g[i]))));
  }
  return worst;
}

const truthRings = () => new Map(truth.map(([id, [lon, lat]]) => [id, squareRing(lon, lat, 30)]));

describe.each([
  ['GCJ02', 'gcj02'],
  ['BD09', 'bd09'],
] as const)('%s input', (crs, kind) => {
  test(`lands on the WGS84 truth within a metre`, async () => {
    const want = truthRings();
    const features = [...want].map(([id, ring]) => building(id, ring.map(([x, y]) => wgs84To(kind, x, y))));
    // The shift is real: hundreds of metres before conversion.
    const shift = distanceM(want.get('bund')![0], (features[0].geometry as { coordinates: Pos[][] }).coordinates[0][0]);
    expect(shift).toBeGreaterThan(300);
    const file = writeCollection(dir, `${kind}.geojson`, features);
    const r = await importGeoJson(t.pool, { layer: 'buildings', file, crs, source: kind });
    expect(r).toMatchObject({ imported: 5, rejected: 0 });
    const err = maxError(await rings(kind), want);
    console.log(`[tests] ${crs}: shift ${shift.toFixed(0)} m, worst error after import ${(err * 1000).toFixed(3)} mm`);
    expect(err).toBeLessThan(1);
    expect(JSON.parse(fs.readFileSync(r.reportFile, 'utf8'))).toMatchObject({ crs, crsConversion: 'gcoord' });
  });
});

describe('EPSG codes', () => {
  /** WGS84 truth rings projected to `srid` by PostGIS. */
  async function projected(srid: number): Promise<Map<string, Pos[]>> {
    const want = truthRings();
    const out = new Map<string, Pos[]>();
    for (const [id, ring] of want) {
      const { rows } = await t.pool.query(
        `SELECT ST_AsGeoJSON(ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON($1), 4326), $2::int), 15)::json -> 'coordinates' -> 0 AS ring`,
        [JSON.stringify({ type: 'Polygon', coordinates: [ring] }), srid],
      );
      out.set(id, rows[0].ring);
    }
    return out;
  }

  test('EPSG:4549 (CGCS2000 Gauss–Krüger, CM 120°E) is transformed in PostGIS to within 1 cm', async () => {
    const proj = await projected(4549);
    expect(proj.get('bund')![0][0]).toBeGreaterThan(600_000); // metres east of the false origin
    const file = writeCollection(dir, 'gk.geojson', [...proj].map(([id, ring]) => building(id, ring)));
    const r = await importGeoJson(t.pool, { layer: 'buildings', file, crs: 'EPSG:4549', source: 'gk' });
    expect(r).toMatchObject({ imported: 5, rejected: 0 });
    expect(JSON.parse(fs.readFileSync(r.reportFile, 'utf8'))).toMatchObject({ crs: 'EPSG:4549', crsConversion: 'postgis' });
    const got = await rings('gk');
    const err = maxError(got, truthRings());
    expect(err).toBeLessThan(0.01);
    // and the same as proj4 computes from the same numbers
    const toWgs = jsTransformToWgs84(parseCrs('EPSG:4549'))!;
    for (const [id, ring] of proj) ring.forEach(([x, y], i) => expect(distanceM(toWgs(x, y), got.get(id)![i])).toBeLessThan(0.01));
  });

  test('a file\'s own "crs" member is honoured when --crs is not given', async () => {
    const proj = await projected(4549);
    const file = writeCollection(dir, 'gk-urn.geojson', [...proj].map(([id, ring]) => building(id, ring)), {
      crs: { type: 'name', properties: { name: 'urn:ogc:def:crs:EPSG::4549' } },
    });
    const r = await importGeoJson(t.pool, { layer: 'buildings', file, source: 'gk-urn' });
    expect(r.imported).toBe(5);
    expect(maxError(await rings('gk-urn'), truthRings())).toBeLessThan(0.01);
  });

  test('a code missing from spatial_ref_sys falls back to the built-in proj4 definition', async () => {
    const proj = await projected(4549);
    const { rows: saved } = await t.pool.query(`SELECT * FROM spatial_ref_sys WHERE srid = 4549`);
    expect(saved).toHaveLength(1);
    await t.pool.query(`DELETE FROM spatial_ref_sys WHERE srid = 4549`);
    try {
      const file = writeCollection(dir, 'gk-js.geojson', [...proj].map(([id, ring]) => building(id, ring)));
      const r = await importGeoJson(t.pool, { layer: 'buildings', file, crs: 'EPSG:4549', source: 'gk-js' });
      expect(r).toMatchObject({ imported: 5, rejected: 0 });
      expect(JSON.parse(fs.readFileSync(r.reportFile, 'utf8'))).toMatchObject({ crsConversion: 'proj4' });
      expect(maxError(await rings('gk-js'), truthRings())).toBeLessThan(0.01);
    } finally {
      const s = saved[0];
      await t.pool.query(`INSERT INTO spatial_ref_sys (srid, auth_name, auth_srid, srtext, proj4text) VALUES ($1, $2, $3, $4, $5)`, [
        s.srid,
        s.auth_name,
        s.auth_srid,
        s.srtext,
        s.proj4text,
      ]);
    }
  });

  test('every built-in CGCS2000 definition agrees with PostGIS to a millimetre', async () => {
    const codes = Object.keys(CGCS2000_PROJ4).map(Number);
    expect(codes).toHaveLength(65); // 4490 + 4491..4554
    const { rows } = await t.pool.query(
      `WITH c AS (SELECT unnest($1::int[]) AS srid)
       SELECT c.srid, ST_X(q) AS x, ST_Y(q) AS y, lon, lat FROM c
         JOIN spatial_ref_sys s USING (srid)
         CROSS JOIN LATERAL (SELECT
            CASE WHEN c.srid = 4490 THEN 120.5
                 WHEN c.srid <= 4512 THEN 75 + 6 * ((c.srid - 4491) % 11) + 1.3
                 ELSE 75 + 3 * ((c.srid - 4513) % 21) + 0.7 END AS lon, 30.25 AS lat) AS p
         CROSS JOIN LATERAL ST_Transform(ST_SetSRID(ST_MakePoint(lon, lat), 4326), c.srid) AS q`,
      [codes],
    );
    expect(rows).toHaveLength(65);
    for (const r of rows) {
      const back = jsTransformToWgs84(parseCrs(`EPSG:${r.srid}`))!(r.x, r.y);
      expect(distanceM(back, [r.lon, r.lat]), `EPSG:${r.srid}`).toBeLessThan(0.001);
    }
  });

  test('EPSG:4490 (CGCS2000 geographic) stays within a millimetre of the input', async () => {
    const want = truthRings();
    const file = writeCollection(dir, 'cgcs.geojson', [...want].map(([id, ring]) => building(id, ring)));
    const r = await importGeoJson(t.pool, { layer: 'buildings', file, crs: 'CGCS2000', source: 'cgcs' });
    expect(r.imported).toBe(5);
    expect(maxError(await rings('cgcs'), want)).toBeLessThan(0.001);
  });

  test('an unknown code is a clear error and imports nothing', async () => {
    const file = writeCollection(dir, 'unknown.geojson', [building('a', squareRing(121.5, 31.23))]);
    await expect(importGeoJson(t.pool, { layer: 'buildings', file, crs: 'EPSG:99999', source: 'unknown' })).rejects.toThrow(
      /unknown CRS EPSG:99999/,
    );
    await expect(importGeoJson(t.pool, { layer: 'buildings', file, crs: 'Beijing54-ish', source: 'unknown' })).rejects.toThrow(
      /unknown CRS "Beijing54-ish"/,
    );
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM buildings WHERE source = 'unknown'`);
    expect(rows[0].n).toBe(0);
  });
});
