/**
 * Makes nearly matching borders match exactly before the topology is built: topojson-server shares an arc only
 * when both rings hold the same points in the same places. Vertices within `tol` of an earlier vertex take its
 * exact coordinates; a vertex within `tol` of another ring's edge is inserted into that edge (a T-junction
 * becomes a node). Coordinates that already match are left exactly as they are.
 */
import type { Position } from 'geojson';
import { distance, pointSegment, samePoint } from './geometry.js';

/** Rings of all grids, as arrays of points (changed in place: the caller passes its own copies). */
export function snapAndNode(rings: Position[][], tol: number): Position[][] {
  if (!(tol > 0) || !rings.length) return rings;
  snapVertices(rings, tol);
  const cleaned = rings.map(dropRepeats);
  return insertTJunctions(cleaned, tol);
}

function dropRepeats(ring: Position[]): Position[] {
  const out: Position[] = [];
  for (const p of ring) if (!out.length || !samePoint(out[out.length - 1]!, p)) out.push(p);
  return out;
}

function snapVertices(rings: Position[][], tol: number): void {
  const cells = new Map<string, Position[]>();
  const cell = (x: number, y: number) => `${Math.floor(x / tol)}:${Math.floor(y / tol)}`;
  for (const ring of rings) {
    for (let i = 0; i < ring.length; i++) {
      const p = ring[i]!;
      const cx = Math.floor(p[0]! / tol), cy = Math.floor(p[1]! / tol);
      let found: Position | undefined;
      for (let dx = -1; dx <= 1 && !found; dx++) {
        for (let dy = -1; dy <= 1 && !found; dy++) {
          for (const q of cells.get(`${cx + dx}:${cy + dy}`) ?? []) {
            if (distance(p, q) <= tol) { found = q; break; }
          }
        }
      }
      if (found) {
        if (!samePoint(found, p)) ring[i] = [found[0]!, found[1]!];
      } else {
        const key = cell(p[0]!, p[1]!);
        const list = cells.get(key);
        if (list) list.push(p); else cells.set(key, [p]);
      }
    }
  }
}

function insertTJunctions(rings: Position[][], tol: number): Position[][] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity, segments = 0;
  for (const ring of rings) {
    segments += Math.max(0, ring.length - 1);
    for (const p of ring) {
      x0 = Math.min(x0, p[0]!); x1 = Math.max(x1, p[0]!); y0 = Math.min(y0, p[1]!); y1 = Math.max(y1, p[1]!);
    }
  }
  const k = Math.max(1, Math.min(512, Math.ceil(Math.sqrt(segments))));
  const w = (x1 - x0) / k || 1, h = (y1 - y0) / k || 1;
  const col = (x: number) => Math.max(0, Math.min(k - 1, Math.floor((x - x0) / w)));
  const row = (y: number) => Math.max(0, Math.min(k - 1, Math.floor((y - y0) / h)));
  const grid = new Map<number, number[]>(); // cell → [ring, segment, ring, segment, ...]
  rings.forEach((ring, r) => {
    for (let i = 0; i + 1 < ring.length; i++) {
      const a = ring[i]!, b = ring[i + 1]!;
      const c0 = col(Math.min(a[0]!, b[0]!) - tol), c1 = col(Math.max(a[0]!, b[0]!) + tol);
      const r0 = row(Math.min(a[1]!, b[1]!) - tol), r1 = row(Math.max(a[1]!, b[1]!) + tol);
      for (let c = c0; c <= c1; c++) for (let q = r0; q <= r1; q++) {
        const key = q * k + c;
        const list = grid.get(key);
        if (list) list.push(r, i); else grid.set(key, [r, i]);
      }
    }
  });
  // ring → segment → points to insert (with their parameter along the segment)
  const inserts = new Map<number, Map<number, { t: number; p: Position }[]>>();
  rings.forEach((ring, r) => {
    for (let v = 0; v + 1 < ring.length; v++) {
      const p = ring[v]!;
      for (const key of cellsAround(p)) {
        const list = grid.get(key);
        if (!list) continue;
        for (let j = 0; j < list.length; j += 2) {
          const r2 = list[j]!, i = list[j + 1]!;
          if (r2 === r) continue;
          const a = rings[r2]![i]!, b = rings[r2]![i + 1]!;
          if (samePoint(p, a) || samePoint(p, b)) continue;
          const hit = pointSegment(p, a, b);
          if (hit.dist > tol || distance(p, a) <= tol || distance(p, b) <= tol) continue;
          let bySeg = inserts.get(r2);
          if (!bySeg) inserts.set(r2, (bySeg = new Map()));
          const pts = bySeg.get(i) ?? [];
          if (!pts.some((q) => samePoint(q.p, p))) pts.push({ t: hit.t, p: [p[0]!, p[1]!] });
          bySeg.set(i, pts);
        }
      }
    }
  });
  function cellsAround(p: Position): number[] {
    const c = col(p[0]!), q = row(p[1]!);
    return [q * k + c];
  }
  if (!inserts.size) return rings;
  return rings.map((ring, r) => {
    const bySeg = inserts.get(r);
    if (!bySeg) return ring;
    const out: Position[] = [];
    for (let i = 0; i < ring.length; i++) {
      out.push(ring[i]!);
      const pts = bySeg.get(i);
      if (pts) for (const { p } of pts.sort((a, b) => a.t - b.t)) out.push(p);
    }
    return out;
  });
}
