/**
 * Rings that pass through one point twice ("pinched") are split into simple rings: a loop going the other way
 * becomes a hole touching the exterior at that point (valid), one going the same way a separate part.
 * topojson-server needs this: it looks at each point of a ring once, so a pinched ring's loop would not be
 * matched with the neighbour's ring and the border would not be shared. Merges and block moves can pinch rings
 * (a grid closing around a sliver of its neighbour); every rebuild passes its polygons through `untangle`.
 */
import type { Position } from 'geojson';
import { pointInRing, pointKey, ringSignedArea } from './geometry.js';

function isPinched(ring: readonly Position[]): boolean {
  const seen = new Set<string>();
  for (let i = 0; i + 1 < ring.length; i++) {
    const k = pointKey(ring[i]!);
    if (seen.has(k)) return true;
    seen.add(k);
  }
  return false;
}

/** The simple loops of a closed ring, each closed; loops without area are dropped. */
export function splitLoops(ring: readonly Position[]): Position[][] {
  const out: Position[][] = [];
  const stack: Position[] = [];
  const index = new Map<string, number>();
  for (let i = 0; i + 1 < ring.length; i++) {
    const p = ring[i]!;
    const k = pointKey(p);
    const at = index.get(k);
    if (at === undefined) {
      index.set(k, stack.length);
      stack.push(p);
      continue;
    }
    const loop = stack.splice(at + 1);
    for (const q of loop) index.delete(pointKey(q));
    out.push([stack[at]!, ...loop, stack[at]!]);
  }
  out.push([...stack, stack[0]!]);
  return out.filter((l) => l.length >= 4 && ringSignedArea(l) !== 0);
}

/** Polygons whose rings are all simple: exteriors counter-clockwise, holes clockwise, each hole in its polygon. */
export function untangle(polygons: Position[][][]): Position[][][] {
  if (!polygons.some((rings) => rings.some(isPinched))) return polygons;
  const shells: Position[][] = [], holes: Position[][] = [];
  for (const rings of polygons) {
    for (const ring of rings) {
      for (const loop of splitLoops(ring)) (ringSignedArea(loop) > 0 ? shells : holes).push(loop);
    }
  }
  const out = shells.map((s) => [s]);
  const areas = shells.map((s) => ringSignedArea(s));
  for (const h of holes) {
    let best = -1;
    shells.forEach((s, i) => {
      const keys = new Set(s.map(pointKey));
      const probe = h.find((p) => !keys.has(pointKey(p)));
      if (probe && pointInRing(probe, s) && (best < 0 || areas[i]! < areas[best]!)) best = i;
    });
    if (best >= 0) out[best]!.push(h);
  }
  return out;
}
