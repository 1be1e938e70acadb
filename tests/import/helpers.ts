import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');
/** ../shared/real-data beside the checkout (never copied into it); REAL_DATA_DIR overrides. */
export const realDataDir = process.env.REAL_DATA_DIR ? path.resolve(process.env.REAL_DATA_DIR) : path.resolve(repoRoot, '..', 'shared', 'real-data');
export const shanghaiDir = path.join(realDataDir, 'shanghai-bund-lujiazui');

/** True when the file exists; otherwise prints why the dependent tests are skipped. */
export function haveRealData(file: string): boolean {
  const ok = fs.existsSync(file);
  if (!ok) console.log(`[tests] skipping real-data tests: ${file} is absent (../shared/real-data is not checked out)`);
  return ok;
}

export type Pos = [number, number];
export interface Feature {
  type: 'Feature';
  id?: string | number;
  properties: Record<string, unknown>;
  geometry: unknown;
}

export function writeCollection(dir: string, name: string, features: unknown[], extra: Record<string, unknown> = {}): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, JSON.stringify({ type: 'FeatureCollection', ...extra, features }));
  return file;
}

const M_PER_DEG_LAT = 111_320;
/** A closed square ring of `size` metres centred on lon/lat. */
export function squareRing(lon: number, lat: number, size = 20): Pos[] {
  const dy = size / 2 / M_PER_DEG_LAT;
  const dx = dy / Math.cos((lat * Math.PI) / 180);
  return [
    [lon - dx, lat - dy],
    [lon + dx, lat - dy],
    [lon + dx, lat + dy],
    [lon - dx, lat + dy],
    [lon - dx, lat - dy],
  ];
}

export function building(id: string, ring: unknown[], properties: Record<string, unknown> = {}): Feature {
  return { type: 'Feature', id, properties, geometry: { type: 'Polygon', coordinates: [ring] } };
}

export function box(minLon: number, minLat: number, maxLon: number, maxLat: number): { type: 'Polygon'; coordinates: Pos[][] } {
  return {
    type: 'Polygon',
    coordinates: [[[minLon, minLat], [maxLon, minLat], [maxLon, maxLat], [minLon, maxLat], [minLon, minLat]]],
  };
}

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function distanceM(a: Pos, b: Pos): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.sqrt(h));
}

// --- an independent validity check of simple polygons (no PostGIS): closed rings of ≥ 4 finite
// positions whose edges meet only at shared consecutive vertices.

function orient(a: Pos, b: Pos, c: Pos): number {
  const v = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
  return v > 0 ? 1 : v < 0 ? -1 : 0;
}
function onSegment(a: Pos, b: Pos, p: Pos): boolean {
  return Math.min(a[0], b[0]) <= p[0] && p[0] <= Math.max(a[0], b[0]) && Math.min(a[1], b[1]) <= p[1] && p[1] <= Math.max(a[1], b[1]);
}
function segmentsMeet(p1: Pos, p2: Pos, q1: Pos, q2: Pos): boolean {
  const o1 = orient(p1, p2, q1);
  const o2 = orient(p1, p2, q2);
  const o3 = orient(q1, q2, p1);
  const o4 = orient(q1, q2, p2);
  if (o1 !== o2 && o3 !== o4) return true;
  return (
    (o1 === 0 && onSegment(p1, p2, q1)) ||
    (o2 === 0 && onSegment(p1, p2, q2)) ||
    (o3 === 0 && onSegment(q1, q2, p1)) ||
    (o4 === 0 && onSegment(q1, q2, p2))
  );
}

/** A polygon is simple: closed rings of ≥ 4 finite positions, no edge meeting a non-adjacent edge (of any ring). */
export function isSimplePolygon(geometry: { type: string; coordinates: unknown }): boolean {
  if (geometry.type !== 'Polygon') return false;
  const rings = geometry.coordinates as Pos[][];
  if (!Array.isArray(rings) || rings.length === 0) return false;
  const edges: { a: Pos; b: Pos; ring: number; i: number; n: number }[] = [];
  for (const [ri, r] of rings.entries()) {
    if (r.length < 4 || !r.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]))) return false;
    if (r[0][0] !== r[r.length - 1][0] || r[0][1] !== r[r.length - 1][1]) return false;
    for (let i = 0; i < r.length - 1; i++) edges.push({ a: r[i], b: r[i + 1], ring: ri, i, n: r.length - 1 });
  }
  for (let x = 0; x < edges.length; x++) {
    for (let y = x + 1; y < edges.length; y++) {
      const e = edges[x];
      const f = edges[y];
      const adjacent = e.ring === f.ring && (f.i === e.i + 1 || (e.i === 0 && f.i === e.n - 1));
      if (adjacent) continue;
      if (segmentsMeet(e.a, e.b, f.a, f.b)) return false;
    }
  }
  return true;
}
