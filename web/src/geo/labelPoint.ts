import polylabel from 'polylabel';

type Ring = number[][];
type PolygonCoords = Ring[];

/** Signed area of a ring in the units of its coordinates (shoelace). */
function ringArea(ring: Ring): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) sum += (ring[j][0] - ring[i][0]) * (ring[j][1] + ring[i][1]);
  return sum / 2;
}

function polygonsOf(geometry: { type: string; coordinates?: unknown }): PolygonCoords[] {
  if (geometry.type === 'Polygon') return [geometry.coordinates as PolygonCoords];
  if (geometry.type === 'MultiPolygon') return geometry.coordinates as PolygonCoords[];
  return [];
}

/**
 * Where to put the label of a (multi)polygon in lon/lat: the point of its largest part farthest
 * from the outline (pole of inaccessibility), so that a label sits well inside even an L-shaped
 * or concave grid. Computed in a local equirectangular frame so that east–west distances count
 * as much as north–south ones. Returns null for anything that is not a polygon.
 */
export function labelPoint(geometry: { type: string; coordinates?: unknown } | null): [number, number] | null {
  if (!geometry) return null;
  const polygons = polygonsOf(geometry).filter((p) => p.length > 0 && p[0].length >= 4);
  if (!polygons.length) return null;
  const largest = polygons.reduce((best, p) => (Math.abs(ringArea(p[0])) > Math.abs(ringArea(best[0])) ? p : best));
  const lat0 = largest[0].reduce((s, c) => s + c[1], 0) / largest[0].length;
  const k = Math.cos((lat0 * Math.PI) / 180);
  const local = largest.map((ring) => ring.map(([lon, lat]) => [lon * k, lat]));
  const xs = local[0].map((c) => c[0]);
  const ys = local[0].map((c) => c[1]);
  const size = Math.max(Math.max(...xs) - Math.min(...xs), Math.max(...ys) - Math.min(...ys));
  const [x, y] = polylabel(local, size / 200 || 1e-7);
  return [x / k, y];
}
