/** A bounding box [minLon, minLat, maxLon, maxLat] in EPSG:4326. */
export type Bbox = [number, number, number, number];

/** TileJSON's default bounds: the whole Web Mercator world, i.e. "unknown". */
const WORLD: Bbox = [-180, -85.0511287798066, 180, 85.0511287798066];

/** True for a finite, non-inverted box inside the Web Mercator world. */
export function isValidBbox(b: readonly number[] | null | undefined): b is Bbox {
  if (!b || b.length !== 4 || !b.every(Number.isFinite)) return false;
  const [w, s, e, n] = b;
  return w >= -180 && e <= 180 && s >= WORLD[1] - 1e-9 && n <= WORLD[3] + 1e-9 && w <= e && s <= n;
}

/**
 * True when a box says where the data is: valid and smaller than `maxSpanDegrees` across
 * (a TileJSON without real bounds reports the whole world, which frames nothing useful).
 */
export function isFramingBbox(b: readonly number[] | null | undefined, maxSpanDegrees = 10): b is Bbox {
  return isValidBbox(b) && b[2] - b[0] <= maxSpanDegrees && b[3] - b[1] <= maxSpanDegrees;
}

/** The first box that frames data, or null. */
export function firstFramingBbox(...candidates: (readonly number[] | null | undefined)[]): Bbox | null {
  for (const c of candidates) if (isFramingBbox(c)) return [c[0], c[1], c[2], c[3]];
  return null;
}
