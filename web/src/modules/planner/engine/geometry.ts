/**
 * Planar helpers on lon/lat (degrees). The grids of a community span ~0.1°, so planar orientation and
 * distance tests in degrees are what the edits need (areas in m² come from turf in report.ts).
 */
import type { Position } from 'geojson';
import type { Box } from './types.js';

export type Pt = readonly number[];

export function samePoint(a: Pt, b: Pt): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

export function pointKey(p: Pt): string {
  return `${p[0]},${p[1]}`;
}

export function copyPoint(p: Pt): Position {
  return [p[0]!, p[1]!];
}

/** Twice the signed area of the triangle o, a, b (> 0 when counter-clockwise). */
export function cross(o: Pt, a: Pt, b: Pt): number {
  return (a[0]! - o[0]!) * (b[1]! - o[1]!) - (a[1]! - o[1]!) * (b[0]! - o[0]!);
}

/** Signed area of a closed ring in square degrees (> 0 counter-clockwise), computed about its first point. */
export function ringSignedArea(ring: readonly Pt[]): number {
  if (ring.length < 4) return 0;
  const o = ring[0]!;
  let sum = 0;
  for (let i = 1; i + 1 < ring.length; i++) sum += cross(o, ring[i]!, ring[i + 1]!);
  return sum / 2;
}

export function distinctCount(ring: readonly Pt[]): number {
  const keys = new Set<string>();
  for (const p of ring) keys.add(pointKey(p));
  return keys.size;
}

/** Closes the ring, drops repeated consecutive points; returns a new array of new points. */
export function cleanRing(ring: readonly Pt[]): Position[] {
  const out: Position[] = [];
  for (const p of ring) {
    if (out.length && samePoint(out[out.length - 1]!, p)) continue;
    out.push(copyPoint(p));
  }
  if (out.length && !samePoint(out[0]!, out[out.length - 1]!)) out.push(copyPoint(out[0]!));
  return out;
}

/** The ring with the wanted orientation (counter-clockwise when `ccw`); the same array when it already is. */
export function orient(ring: Position[], ccw: boolean): Position[] {
  const a = ringSignedArea(ring);
  return (a > 0) === ccw || a === 0 ? ring : ring.slice().reverse();
}

export interface SegmentHit { dist: number; t: number }

/** Distance from p to the segment ab, and the parameter of the nearest point (0 at a, 1 at b). */
export function pointSegment(p: Pt, a: Pt, b: Pt): SegmentHit {
  const dx = b[0]! - a[0]!, dy = b[1]! - a[1]!;
  const len2 = dx * dx + dy * dy;
  let t = len2 === 0 ? 0 : ((p[0]! - a[0]!) * dx + (p[1]! - a[1]!) * dy) / len2;
  t = Math.max(0, Math.min(1, t));
  const x = a[0]! + t * dx - p[0]!, y = a[1]! + t * dy - p[1]!;
  return { dist: Math.hypot(x, y), t };
}

export function lerp(a: Pt, b: Pt, t: number): Position {
  return [a[0]! + t * (b[0]! - a[0]!), a[1]! + t * (b[1]! - a[1]!)];
}

export function distance(a: Pt, b: Pt): number {
  return Math.hypot(a[0]! - b[0]!, a[1]! - b[1]!);
}

function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

/** Whether the closed segments ab and cd have a point in common (exact orientation signs of doubles). */
export function segmentsMeet(a: Pt, b: Pt, c: Pt, d: Pt): boolean {
  const d1 = sign(cross(c, d, a)), d2 = sign(cross(c, d, b)), d3 = sign(cross(a, b, c)), d4 = sign(cross(a, b, d));
  if (d1 * d2 < 0 && d3 * d4 < 0) return true;
  const within = (p: Pt, q: Pt, r: Pt) =>
    Math.min(p[0]!, q[0]!) <= r[0]! && r[0]! <= Math.max(p[0]!, q[0]!) && Math.min(p[1]!, q[1]!) <= r[1]! && r[1]! <= Math.max(p[1]!, q[1]!);
  return (d1 === 0 && within(c, d, a)) || (d2 === 0 && within(c, d, b)) || (d3 === 0 && within(a, b, c)) || (d4 === 0 && within(a, b, d));
}

/** The crossing of ab and cd when they cross properly (each strictly separates the other's ends), else null. */
export function properCrossing(a: Pt, b: Pt, c: Pt, d: Pt): { t: number; u: number } | null {
  const d1 = sign(cross(c, d, a)), d2 = sign(cross(c, d, b)), d3 = sign(cross(a, b, c)), d4 = sign(cross(a, b, d));
  if (!(d1 * d2 < 0 && d3 * d4 < 0)) return null;
  const rx = b[0]! - a[0]!, ry = b[1]! - a[1]!, sx = d[0]! - c[0]!, sy = d[1]! - c[1]!;
  const den = rx * sy - ry * sx;
  if (den === 0) return null;
  const qx = c[0]! - a[0]!, qy = c[1]! - a[1]!;
  const t = (qx * sy - qy * sx) / den, u = (qx * ry - qy * rx) / den;
  return { t: Math.max(0, Math.min(1, t)), u: Math.max(0, Math.min(1, u)) };
}

/** Smallest distance between the segments ab and cd (0 when they meet). */
export function segmentDistance(a: Pt, b: Pt, c: Pt, d: Pt): number {
  if (segmentsMeet(a, b, c, d)) return 0;
  return Math.min(pointSegment(a, c, d).dist, pointSegment(b, c, d).dist, pointSegment(c, a, b).dist, pointSegment(d, a, b).dist);
}

/** Even–odd ray test; points on the ring may go either way. */
export function pointInRing(p: Pt, ring: readonly Pt[]): boolean {
  let inside = false;
  const x = p[0]!, y = p[1]!;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const xi = ring[i]![0]!, yi = ring[i]![1]!, xj = ring[j]![0]!, yj = ring[j]![1]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside the polygon's exterior and outside its holes (boundary undecided). */
export function pointInPolygon(p: Pt, rings: readonly (readonly Pt[])[]): boolean {
  if (!rings.length || !pointInRing(p, rings[0]!)) return false;
  for (let i = 1; i < rings.length; i++) if (pointInRing(p, rings[i]!)) return false;
  return true;
}

export function distanceToRings(p: Pt, rings: readonly (readonly Pt[])[]): number {
  let best = Infinity;
  for (const ring of rings) for (let i = 0; i + 1 < ring.length; i++) best = Math.min(best, pointSegment(p, ring[i]!, ring[i + 1]!).dist);
  return best;
}

export function boxOf(points: readonly Pt[]): Box {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const p of points) {
    if (p[0]! < x0) x0 = p[0]!;
    if (p[0]! > x1) x1 = p[0]!;
    if (p[1]! < y0) y0 = p[1]!;
    if (p[1]! > y1) y1 = p[1]!;
  }
  return [x0, y0, x1, y1];
}

export function boxesMeet(a: Box, b: Box, pad = 0): boolean {
  return a[0] - pad <= b[2] && b[0] - pad <= a[2] && a[1] - pad <= b[3] && b[1] - pad <= a[3];
}

export function isLonLat(p: unknown): p is [number, number] {
  return Array.isArray(p) && p.length >= 2 && Number.isFinite(p[0]) && Number.isFinite(p[1]) && Math.abs(p[0] as number) <= 180 && Math.abs(p[1] as number) <= 90;
}
