import { ApiError } from '../plugins/errors.js';

/** [minLon, minLat, maxLon, maxLat] in EPSG:4326. */
export type Bbox = [number, number, number, number];

/**
 * Parses `minLon,minLat,maxLon,maxLat` (EPSG:4326). Rejects anything else with INVALID_BBOX:
 * wrong count, non-numbers, out-of-range values, inverted or empty boxes.
 */
export function parseBbox(raw: string): Bbox {
  const parts = raw.split(',');
  if (parts.length !== 4) throw new ApiError(400, 'INVALID_BBOX', 'bbox must be four numbers: minLon,minLat,maxLon,maxLat');
  const n = parts.map((p) => (/^\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*$/.test(p) ? Number(p) : NaN));
  if (n.some((v) => !Number.isFinite(v))) throw new ApiError(400, 'INVALID_BBOX', `bbox has a value that is not a finite number: "${raw}"`);
  const [minX, minY, maxX, maxY] = n;
  if (minX < -180 || maxX > 180 || minY < -90 || maxY > 90) {
    throw new ApiError(400, 'INVALID_BBOX', 'bbox is outside lon -180..180 / lat -90..90');
  }
  if (minX > maxX || minY > maxY) throw new ApiError(400, 'INVALID_BBOX', 'bbox is inverted: min must not exceed max');
  return [minX, minY, maxX, maxY];
}
