/**
 * Pure helpers of the command centre: the possible duplicates of an incident among its neighbours,
 * and the bounded recent lists of the live feed. (ETA and distance for display are in i18n/format.ts.)
 */

const EARTH_RADIUS_METRES = 6_371_008.8;

/** Great-circle distance in metres between two lon/lat points. */
export function haversineMetres(a: [number, number], b: [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[1] - a[1]) * rad;
  const dLon = (b[0] - a[0]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[1] * rad) * Math.cos(b[1] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_METRES * Math.asin(Math.min(1, Math.sqrt(h)));
}

export interface DuplicateCandidate {
  id: string;
  category: string;
  status: string;
  description: string;
  reportedAt: string;
  coordinates: [number, number];
}

export const DUPLICATE_RADIUS_METRES = 50;
export const DUPLICATE_WINDOW_MS = 24 * 3600 * 1000;

/**
 * The possible duplicates of `incident` among `others` (the intake rule: same category, within
 * 50 m and 24 h either way, open or closed), nearest first, at most `max`.
 */
export function possibleDuplicates(
  incident: DuplicateCandidate,
  others: DuplicateCandidate[],
  max = 10,
): (DuplicateCandidate & { distanceMetres: number })[] {
  const at = Date.parse(incident.reportedAt);
  return others
    .filter((o) => o.id !== incident.id && o.category === incident.category && Math.abs(Date.parse(o.reportedAt) - at) <= DUPLICATE_WINDOW_MS)
    .map((o) => ({ ...o, distanceMetres: haversineMetres(incident.coordinates, o.coordinates) }))
    .filter((o) => o.distanceMetres <= DUPLICATE_RADIUS_METRES)
    .sort((a, b) => a.distanceMetres - b.distanceMetres)
    .slice(0, max);
}

/** The ISO window [reportedAt − 24 h, reportedAt + 24 h] in which duplicates are looked for. */
export function duplicateWindow(reportedAt: string): { from: string; to: string } {
  const at = Date.parse(reportedAt);
  return { from: new Date(at - DUPLICATE_WINDOW_MS).toISOString(), to: new Date(at + DUPLICATE_WINDOW_MS).toISOString() };
}

/** A bounded list of recent items, newest first, one entry per key (a newer one replaces the older). */
export function pushRecent<T>(list: readonly T[], item: T, keyOf: (x: T) => string, max: number): T[] {
  const key = keyOf(item);
  return [item, ...list.filter((x) => keyOf(x) !== key)].slice(0, max);
}
