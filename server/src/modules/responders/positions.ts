/**
 * Checking a batch of positions from a responder's phone (pure: the repository supplies the
 * points already stored around the batch's time range and the server time).
 *
 * Per point, in the order sent:
 *  - INVALID_TIMESTAMP: recordedAt is not a real time (does not parse as ISO 8601, or names a date
 *    or time that does not exist: year 0000, month 13, 30 February, 25:00);
 *  - OUT_OF_RANGE: lon outside [-180, 180], lat outside [-90, 90], accuracy outside [0, 100 km];
 *  - FUTURE_TIMESTAMP: recorded more than 2 minutes ahead of the server's clock;
 *  - TOO_OLD: recorded more than 7 days ago (a phone whose clock reset to 1970, or a backlog older
 *    than anything the command centre or the live stream keeps);
 *  - duplicate (not an error): a point with the recordedAt of a point already stored or already
 *    accepted from this batch — counted and ignored (the track's key is responder + recordedAt);
 *  - IMPOSSIBLE_SPEED: reaching it from the neighbouring accepted point before it in time, or
 *    from it to the neighbouring accepted point after it, implies more than 150 km/h. "Accepted"
 *    means stored already or accepted earlier in this batch, so one bad fix is rejected and the
 *    good points around it stay.
 * Out-of-order points are fine: they are placed in time among the others. Only the request's shape
 * and types are the schema's (400 for the whole batch); every plausibility rule is per point here.
 */
export const MAX_SPEED_KMH = 150;
export const MAX_FUTURE_MS = 2 * 60_000;
export const MAX_AGE_MS = 7 * 86_400_000;
export const MAX_ACCURACY_M = 100_000;

export type PositionRejection = 'FUTURE_TIMESTAMP' | 'IMPOSSIBLE_SPEED' | 'INVALID_TIMESTAMP' | 'OUT_OF_RANGE' | 'TOO_OLD';

export interface PositionInput {
  lon: number;
  lat: number;
  recordedAt: string;
  accuracyMetres?: number | null;
}

export interface TrackPoint {
  /** Epoch milliseconds. */
  t: number;
  lon: number;
  lat: number;
}

export interface AcceptedPoint extends TrackPoint {
  index: number;
  accuracyMetres: number | null;
}

export interface BatchVerdict {
  accepted: AcceptedPoint[];
  duplicates: number;
  rejected: { index: number; code: PositionRejection; detail: string }[];
}

/** Great-circle distance in metres (haversine, mean Earth radius). */
export function haversineMetres(a: { lon: number; lat: number }, b: { lon: number; lat: number }): number {
  const R = 6_371_008.8;
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

export function speedKmh(a: TrackPoint, b: TrackPoint): number {
  const hours = Math.abs(b.t - a.t) / 3_600_000;
  return haversineMetres(a, b) / 1000 / hours;
}

/** Index of the first element of sorted `points` with t >= time. */
function lowerBound(points: TrackPoint[], time: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].t < time) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** `YYYY-MM-DDThh:mm[:ss[.fraction]][Z|±hh[:]mm]` (without a zone: the server's local time, as Date.parse reads it). */
const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):?(\d{2}))?$/;

const leap = (year: number) => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const daysIn = (year: number, month: number) => (month === 2 ? (leap(year) ? 29 : 28) : [4, 6, 9, 11].includes(month) ? 30 : 31);

/**
 * Parses an ISO 8601 timestamp to epoch ms; NaN when it does not parse or names a time that does
 * not exist (year 0000, month 13, 30 February, hour 24, minute or second 60, offset beyond 23:59):
 * Date.parse alone reads 30 February as 2 March and year 0000 as 1 BC.
 */
export function parseTime(value: string): number {
  const m = typeof value === 'string' ? ISO_TIME.exec(value) : null;
  if (!m) return NaN;
  const [year, month, day, hour, minute, second = 0, offH = 0, offM = 0] = m.slice(1).map((x) => (x === undefined ? undefined : Number(x))) as number[];
  const real = year >= 1 && month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month) &&
    hour <= 23 && minute <= 59 && second <= 59 && offH <= 23 && offM <= 59;
  return real ? Date.parse(value) : NaN;
}

export function checkBatch(points: PositionInput[], stored: TrackPoint[], nowMs: number): BatchVerdict {
  const known = [...stored].sort((a, b) => a.t - b.t);
  const verdict: BatchVerdict = { accepted: [], duplicates: 0, rejected: [] };
  points.forEach((p, index) => {
    const t = parseTime(p.recordedAt);
    const acc = p.accuracyMetres ?? null;
    if (!Number.isFinite(t)) {
      verdict.rejected.push({ index, code: 'INVALID_TIMESTAMP', detail: `recordedAt "${String(p.recordedAt).slice(0, 40)}" is not a real ISO 8601 time` });
      return;
    }
    if (!Number.isFinite(p.lon) || !Number.isFinite(p.lat) || Math.abs(p.lon) > 180 || Math.abs(p.lat) > 90) {
      verdict.rejected.push({ index, code: 'OUT_OF_RANGE', detail: `lon ${p.lon}, lat ${p.lat} is not a position on Earth` });
      return;
    }
    if (acc !== null && (!Number.isFinite(acc) || acc < 0 || acc > MAX_ACCURACY_M)) {
      verdict.rejected.push({ index, code: 'OUT_OF_RANGE', detail: `accuracyMetres ${acc} is outside 0–${MAX_ACCURACY_M}` });
      return;
    }
    if (t > nowMs + MAX_FUTURE_MS) {
      verdict.rejected.push({ index, code: 'FUTURE_TIMESTAMP', detail: `recorded ${Math.round((t - nowMs) / 1000)} s ahead of the server's time (at most ${MAX_FUTURE_MS / 1000} s allowed)` });
      return;
    }
    if (t < nowMs - MAX_AGE_MS) {
      verdict.rejected.push({ index, code: 'TOO_OLD', detail: `recorded more than ${MAX_AGE_MS / 86_400_000} days ago` });
      return;
    }
    const i = lowerBound(known, t);
    if (i < known.length && known[i].t === t) {
      verdict.duplicates++;
      return;
    }
    const point: TrackPoint = { t, lon: p.lon, lat: p.lat };
    for (const neighbour of [known[i - 1], known[i]]) {
      if (!neighbour) continue;
      const v = speedKmh(neighbour, point);
      if (v > MAX_SPEED_KMH) {
        verdict.rejected.push({
          index,
          code: 'IMPOSSIBLE_SPEED',
          detail: `${Math.round(v)} km/h from the point recorded at ${new Date(neighbour.t).toISOString()} (at most ${MAX_SPEED_KMH} km/h)`,
        });
        return;
      }
    }
    known.splice(i, 0, point);
    verdict.accepted.push({ ...point, index, accuracyMetres: acc });
  });
  return verdict;
}
