/**
 * Pure helpers of the command centre: ETA and distance for display, the possible duplicates of an
 * incident among its neighbours, and the filter state of the incident list as an API query.
 */

/** Whole minutes of an ETA for display; under a minute is its own case (`lessThanMinute`). */
export function etaMinutes(seconds: number): { minutes: number; lessThanMinute: boolean } {
  if (!Number.isFinite(seconds) || seconds < 0) return { minutes: 0, lessThanMinute: true };
  if (seconds < 60) return { minutes: 0, lessThanMinute: true };
  return { minutes: Math.round(seconds / 60), lessThanMinute: false };
}

/** Metres below a kilometre (rounded to 10 m from 100 m), else kilometres with one decimal. */
export function distanceParts(metres: number): { n: number; unit: 'metres' | 'kilometres' } {
  const m = Math.max(0, metres);
  if (m < 100) return { n: Math.round(m), unit: 'metres' };
  if (m < 1000) return { n: Math.round(m / 10) * 10, unit: 'metres' };
  return { n: Math.round(m / 100) / 10, unit: 'kilometres' };
}

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
