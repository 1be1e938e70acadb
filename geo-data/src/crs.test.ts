import gcoord from 'gcoord';
import { describe, expect, test } from 'vitest';
import { CGCS2000_PROJ4, CrsError, jsTransformToWgs84, parseCrs, wgs84To, wktTransformToWgs84 } from './crs.js';

describe('parseCrs', () => {
  test.each([
    ['GCJ02', 'gcj02'],
    ['gcj-02', 'gcj02'],
    ['BD09', 'bd09'],
    ['bd-09', 'bd09'],
    ['WGS84', 'wgs84'],
    ['EPSG:4326', 'wgs84'],
    ['urn:ogc:def:crs:OGC:1.3:CRS84', 'wgs84'],
  ])('%s → %s', (input, kind) => {
    expect(parseCrs(input).kind).toBe(kind);
  });

  test.each([
    ['EPSG:4549', 4549],
    ['epsg:4490', 4490],
    ['4527', 4527],
    ['CGCS2000', 4490],
    ['urn:ogc:def:crs:EPSG::4549', 4549],
    ['urn:ogc:def:crs:EPSG:9.8.1:4528', 4528],
  ])('%s → EPSG code %d', (input, code) => {
    expect(parseCrs(input)).toMatchObject({ kind: 'epsg', code });
  });

  test('garbage is a CrsError naming the input', () => {
    expect(() => parseCrs('EPSG:abc')).toThrow(CrsError);
    expect(() => parseCrs('Xian80')).toThrow(/unknown CRS "Xian80"/);
  });
});

describe('GCJ02 / BD09 inversion', () => {
  const points: [number, number][] = [
    [121.4903, 31.24],
    [120.1485, 30.2424],
    [116.3975, 39.9087],
    [113.2644, 23.1291],
  ];
  test.each(['gcj02', 'bd09'] as const)('%s → WGS84 inverts the forward shift to well under a millimetre', (kind) => {
    const back = jsTransformToWgs84(parseCrs(kind))!;
    for (const [x, y] of points) {
      const [sx, sy] = wgs84To(kind, x, y);
      const [wx, wy] = back(sx, sy);
      // 1e-9° ≈ 0.1 mm
      expect(Math.abs(wx - x)).toBeLessThan(1e-9);
      expect(Math.abs(wy - y)).toBeLessThan(1e-9);
      // gcoord's own inverse is good to a few centimetres only
      const [gx, gy] = gcoord.transform([sx, sy], kind === 'gcj02' ? gcoord.GCJ02 : gcoord.BD09, gcoord.WGS84) as [number, number];
      expect(Math.abs(gx - x)).toBeLessThan(2e-6);
      expect(Math.abs(gy - y)).toBeLessThan(2e-6);
    }
  });
});

describe('CGCS2000 definitions', () => {
  test('4490 and the Gauss–Krüger zones 4491–4554 are all defined', () => {
    for (let code = 4490; code <= 4554; code++) expect(CGCS2000_PROJ4[code], `EPSG:${code}`).toBeTruthy();
    expect(CGCS2000_PROJ4[4549]).toContain('+lon_0=120 ');
    expect(CGCS2000_PROJ4[4549]).toContain('+x_0=500000 ');
    expect(CGCS2000_PROJ4[4528]).toContain('+x_0=40500000 '); // 3° zone 40 with prefix, CM 120
    expect(CGCS2000_PROJ4[4501]).toContain('+lon_0=135 ');
  });

  test('proj4 inverse of a GK point is exact and refuses points outside the domain', () => {
    const f = jsTransformToWgs84(parseCrs('EPSG:4549'))!;
    const [lon, lat] = f(500000, 3_460_000);
    expect(lon).toBeCloseTo(120, 9);
    expect(lat).toBeGreaterThan(31.2);
    expect(lat).toBeLessThan(31.3);
    expect(f(640000, 1e12).every(Number.isNaN)).toBe(true);
    // Where proj4 itself throws ("coordinates must be finite numbers"): not convertible either.
    expect(f(1e12, 1e12).every(Number.isNaN)).toBe(true);
    expect(f(-1e9, 5e8).every(Number.isNaN)).toBe(true);
    expect(jsTransformToWgs84(parseCrs('BD09'))!(-1e300, 1e300).every(Number.isNaN)).toBe(true);
  });

  test('codes without a built-in definition have no JS transform', () => {
    expect(jsTransformToWgs84(parseCrs('EPSG:2385'))).toBeNull();
  });
});

describe('a CRS as WKT (a Shapefile\'s .prj)', () => {
  // What GDAL 3.6 writes into the .prj of EPSG:4549 (ESRI WKT).
  const GK_CM_120E = 'PROJCS["CGCS2000_3_Degree_GK_CM_120E",GEOGCS["GCS_China_Geodetic_Coordinate_System_2000",DATUM["D_China_2000",SPHEROID["CGCS2000",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Gauss_Kruger"],PARAMETER["False_Easting",500000.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",120.0],PARAMETER["Scale_Factor",1.0],PARAMETER["Latitude_Of_Origin",0.0],UNIT["Meter",1.0]]';

  test('a Gauss–Krüger .prj converts as its EPSG code does, named as in the WKT', () => {
    const { label, transform } = wktTransformToWgs84(GK_CM_120E);
    expect(label).toBe('CGCS2000_3_Degree_GK_CM_120E');
    const byCode = jsTransformToWgs84(parseCrs('EPSG:4549'))!;
    for (const [x, y] of [[641013.2275, 3457419.157], [500000, 3_460_000], [380000, 4_420_000]] as [number, number][]) {
      const [a, b] = transform(x, y);
      const [c, d] = byCode(x, y);
      expect(Math.abs(a - c)).toBeLessThan(1e-9);
      expect(Math.abs(b - d)).toBeLessThan(1e-9);
    }
    expect(transform(1e12, 1e12).every(Number.isNaN)).toBe(true);
  });

  test('a geographic .prj is the identity (to 1e-12°); what proj4 cannot read is a CrsError', () => {
    const { transform } = wktTransformToWgs84('GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]');
    const [lon, lat] = transform(121.4812345678, 31.23);
    expect(Math.abs(lon - 121.4812345678) + Math.abs(lat - 31.23)).toBeLessThan(1e-12);
    for (const bad of ['', 'garbage', 'PROJCS["x"]']) expect(() => wktTransformToWgs84(bad), bad).toThrow(CrsError);
  });
});
