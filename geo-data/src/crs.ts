/**
 * Coordinate reference systems accepted on import, and conversion to WGS84 (EPSG:4326).
 *
 * - WGS84 / EPSG:4326 (default): no conversion.
 * - GCJ02 (AMap, Tencent) and BD09 (Baidu): converted with gcoord, refined by a fixed-point
 *   iteration of the forward transform so the inverse is exact to well under a millimetre
 *   (gcoord's own inverse is an approximation good to a few centimetres).
 * - EPSG:<code>: any code the database knows (spatial_ref_sys) is transformed in PostGIS with
 *   ST_Transform; codes the database lacks fall back to the proj4 definitions registered here:
 *   CGCS2000 geographic (EPSG:4490) and the CGCS2000 Gauss–Krüger zones EPSG:4491–4554
 *   (6° zones with and without zone prefix, 3° zones with and without zone prefix).
 *   Both PostgreSQL 15/PostGIS 3.3 and PGlite/PostGIS 3.6 ship all of 4490–4554 in spatial_ref_sys.
 */
import gcoord from 'gcoord';
import proj4 from 'proj4';

export type CrsSpec =
  | { kind: 'wgs84'; label: string }
  | { kind: 'gcj02'; label: string }
  | { kind: 'bd09'; label: string }
  | { kind: 'epsg'; code: number; label: string };

export class CrsError extends Error {}

/** proj4 definition strings of CGCS2000 and its Gauss–Krüger projections, by EPSG code. */
export const CGCS2000_PROJ4: Readonly<Record<number, string>> = buildCgcs2000Defs();

function buildCgcs2000Defs(): Record<number, string> {
  const defs: Record<number, string> = { 4490: '+proj=longlat +ellps=GRS80 +no_defs' };
  const tmerc = (lon0: number, x0: number) =>
    `+proj=tmerc +lat_0=0 +lon_0=${lon0} +k=1 +x_0=${x0} +y_0=0 +ellps=GRS80 +units=m +no_defs`;
  // 4491–4501: 6° zones 13–23 (CM 75E–135E), false easting with the zone number prefix.
  for (let i = 0; i <= 10; i++) defs[4491 + i] = tmerc(75 + 6 * i, (13 + i) * 1e6 + 500000);
  // 4502–4512: 6° zones by central meridian, no prefix.
  for (let i = 0; i <= 10; i++) defs[4502 + i] = tmerc(75 + 6 * i, 500000);
  // 4513–4533: 3° zones 25–45 (CM 75E–135E), zone number prefix.
  for (let i = 0; i <= 20; i++) defs[4513 + i] = tmerc(75 + 3 * i, (25 + i) * 1e6 + 500000);
  // 4534–4554: 3° zones by central meridian, no prefix.
  for (let i = 0; i <= 20; i++) defs[4534 + i] = tmerc(75 + 3 * i, 500000);
  return defs;
}

let registered = false;
/** Registers the CGCS2000 definitions with proj4 (idempotent). */
export function registerCgcs2000(): void {
  if (registered) return;
  for (const [code, def] of Object.entries(CGCS2000_PROJ4)) proj4.defs(`EPSG:${code}`, def);
  registered = true;
}

/**
 * Parses a CRS name: GCJ02 / GCJ-02, BD09 / BD-09, WGS84, CGCS2000, EPSG:<code>, a bare number,
 * or an OGC URN (urn:ogc:def:crs:EPSG::4549, urn:ogc:def:crs:OGC:1.3:CRS84). Case-insensitive.
 */
export function parseCrs(input: string): CrsSpec {
  const s = input.trim();
  const u = s.toUpperCase().replace(/[\s_-]/g, '');
  if (u === 'GCJ02' || u === 'AMAP' || u === 'GCJ') return { kind: 'gcj02', label: 'GCJ02' };
  if (u === 'BD09' || u === 'BD09LL' || u === 'BAIDU') return { kind: 'bd09', label: 'BD09' };
  if (u === 'WGS84' || u === 'CRS84' || u.endsWith(':CRS84')) return { kind: 'wgs84', label: 'EPSG:4326' };
  if (u === 'CGCS2000') return epsg(4490);
  const m = /^(?:EPSG:{1,2}|URN:OGC:DEF:CRS:EPSG:[0-9.]*:)?([0-9]{1,6})$/.exec(u);
  if (m) return epsg(Number(m[1]));
  throw new CrsError(
    `unknown CRS "${input}": use GCJ02, BD09, WGS84 or EPSG:<code> (e.g. EPSG:4326, EPSG:4490, EPSG:4549)`,
  );
}

function epsg(code: number): CrsSpec {
  return code === 4326 ? { kind: 'wgs84', label: 'EPSG:4326' } : { kind: 'epsg', code, label: `EPSG:${code}` };
}

export type PointTransform = (x: number, y: number) => [number, number];

/** A JS converter to WGS84 for GCJ02/BD09, or for an EPSG code with a built-in proj4 definition. */
export function jsTransformToWgs84(spec: CrsSpec): PointTransform | null {
  switch (spec.kind) {
    case 'wgs84':
      return (x, y) => [x, y];
    case 'gcj02':
      return (x, y) => invertShift(x, y, gcoord.GCJ02);
    case 'bd09':
      // gcoord throws on coordinates far outside the world ("Invalid input coordinate"): not convertible.
      return (x, y) => {
        try {
          return invertShift(x, y, gcoord.BD09);
        } catch {
          return [NaN, NaN];
        }
      };
    case 'epsg': {
      if (!CGCS2000_PROJ4[spec.code]) return null;
      registerCgcs2000();
      const geographic = /\+proj=longlat/.test(CGCS2000_PROJ4[spec.code]);
      return checkedConversion(proj4(`EPSG:${spec.code}`, 'EPSG:4326'), geographic ? 1e-8 : 1e-3);
    }
  }
}

/**
 * A proj4 conversion that must invert: outside a projection's domain proj4 can return
 * plausible-looking garbage, or throw ("coordinates must be finite numbers"); such a point is
 * reported as not convertible, [NaN, NaN], unless it comes back within `tolerance` (1 mm, or 1e-8°).
 */
function checkedConversion(conv: proj4.Converter, tolerance: number): PointTransform {
  return (x, y) => {
    try {
      const [lon, lat] = conv.forward([x, y]);
      const [bx, by] = conv.inverse([lon, lat]);
      if (!(Math.abs(bx - x) <= tolerance && Math.abs(by - y) <= tolerance)) return [NaN, NaN];
      return [lon, lat];
    } catch {
      return [NaN, NaN];
    }
  };
}

/** WGS84 → GCJ02 or BD09 (for tests and exports). */
export function wgs84To(kind: 'gcj02' | 'bd09', x: number, y: number): [number, number] {
  const [a, b] = gcoord.transform([x, y], gcoord.WGS84, kind === 'gcj02' ? gcoord.GCJ02 : gcoord.BD09);
  return [a, b];
}

/**
 * Inverse of the WGS84 → target shift: gcoord's inverse as a start, then a few fixed-point steps
 * w ← w + (p − forward(w)); the shift varies slowly, so each step gains several digits.
 */
function invertShift(x: number, y: number, from: typeof gcoord.GCJ02 | typeof gcoord.BD09): [number, number] {
  let [wx, wy] = gcoord.transform([x, y], from, gcoord.WGS84) as [number, number];
  for (let i = 0; i < 4; i++) {
    const [fx, fy] = gcoord.transform([wx, wy], gcoord.WGS84, from) as [number, number];
    const dx = x - fx;
    const dy = y - fy;
    wx += dx;
    wy += dy;
    if (Math.abs(dx) < 1e-12 && Math.abs(dy) < 1e-12) break;
  }
  return [wx, wy];
}

/**
 * A converter to WGS84 from a CRS given as WKT (a Shapefile's .prj, ESRI or OGC WKT 1), read by
 * proj4 (no datum shift: CGCS2000 and WGS84 are taken as one, as above); `label` is the CRS's name
 * in the WKT. Points outside the projection's domain become [NaN, NaN] (checkedConversion). Throws
 * CrsError when proj4 cannot read the WKT.
 */
export function wktTransformToWgs84(wkt: string): { label: string; transform: PointTransform } {
  const text = wkt.trim();
  const quoted = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
  let from: InstanceType<typeof proj4.Proj>;
  try {
    from = new proj4.Proj(text);
  } catch (err) {
    throw new CrsError(`the CRS ${quoted} cannot be read${err instanceof Error && err.message ? ` (${err.message})` : ''}`);
  }
  const projName = (from as { projName?: unknown }).projName;
  if (typeof projName !== 'string' || typeof from.forward !== 'function') throw new CrsError(`the CRS ${quoted} cannot be read`);
  return {
    label: typeof from.name === 'string' && from.name ? from.name : 'the CRS of the .prj',
    transform: checkedConversion(proj4(from, proj4.WGS84), projName === 'longlat' ? 1e-8 : 1e-3),
  };
}
