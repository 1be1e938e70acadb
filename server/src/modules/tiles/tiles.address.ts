import { ApiError } from '../../plugins/errors.js';

/** Deepest zoom the API accepts (a tile address beyond it is a client error). */
export const MAX_TILE_ZOOM = 22;

export interface TileAddress {
  z: number;
  x: number;
  y: number;
}

const INTEGER = /^\d{1,10}$/;
/** y may carry the format as a suffix: 6748, 6748.mvt, 6748.pbf. */
const Y_WITH_SUFFIX = /^(\d{1,10})(?:\.(?:mvt|pbf))?$/;

/**
 * Parses z/x/y from the path. Anything but 0 ≤ z ≤ 22 and 0 ≤ x, y < 2^z as plain decimal
 * integers is TILE_OUT_OF_RANGE (400).
 */
export function parseTileAddress(z: string, x: string, y: string): TileAddress {
  const yDigits = Y_WITH_SUFFIX.exec(y)?.[1];
  if (!INTEGER.test(z) || !INTEGER.test(x) || yDigits === undefined) {
    throw outOfRange(`tile address ${z}/${x}/${y} is not three non-negative integers (z/x/y, y optionally with .mvt or .pbf)`);
  }
  const address = { z: Number(z), x: Number(x), y: Number(yDigits) };
  if (address.z > MAX_TILE_ZOOM) throw outOfRange(`zoom ${address.z} is above ${MAX_TILE_ZOOM}`);
  const n = 2 ** address.z;
  if (address.x >= n || address.y >= n) {
    throw outOfRange(`tile ${address.x}/${address.y} does not exist at zoom ${address.z}: x and y must be below ${n}`);
  }
  return address;
}

function outOfRange(detail: string): ApiError {
  return new ApiError(400, 'TILE_OUT_OF_RANGE', detail);
}
