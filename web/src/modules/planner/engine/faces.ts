/**
 * Faces of a planar arrangement of noded segments (no two cross; they meet only at shared end points).
 * Used instead of @turf/polygonize 7, which returns each face's outer ring only (it drops holes, and returns the
 * inside of a hole as one more polygon): a grid with an enclave must keep its hole when it is split.
 * Points are compared exactly, so the faces reuse the very coordinates they were given.
 */
import type { Position } from 'geojson';
import { copyPoint, pointInRing, pointKey, ringSignedArea, samePoint } from './geometry.js';

export interface Face {
  /** counter-clockwise exterior then clockwise holes, closed */
  rings: Position[][];
  area: number;
}

interface Node { p: Position; key: string; out: Half[] }
interface Half { from: Node; to: Node; twin: Half; angle: number; cycle: number; removed: boolean }

export interface Arrangement {
  faces: Face[];
  /** the face to the left of the directed segment a→b, if that segment survived (dangles and bridges are removed) */
  faceLeftOf(a: Position, b: Position): number | undefined;
  /** whether the segment a–b (either way) is an edge of some face */
  hasEdge(a: Position, b: Position): boolean;
}

export function arrange(segments: readonly (readonly [Position, Position])[]): Arrangement {
  const nodes = new Map<string, Node>();
  const halves = new Map<string, Half>();
  const node = (p: Position): Node => {
    const key = pointKey(p);
    let n = nodes.get(key);
    if (!n) nodes.set(key, (n = { p, key, out: [] }));
    return n;
  };
  for (const [a, b] of segments) {
    if (samePoint(a, b)) continue;
    const u = node(a), v = node(b);
    if (halves.has(`${u.key}|${v.key}`)) continue;
    const h1 = { from: u, to: v, angle: Math.atan2(b[1]! - a[1]!, b[0]! - a[0]!), cycle: -1, removed: false } as Half;
    const h2 = { from: v, to: u, angle: Math.atan2(a[1]! - b[1]!, a[0]! - b[0]!), cycle: -1, removed: false } as Half;
    h1.twin = h2;
    h2.twin = h1;
    u.out.push(h1);
    v.out.push(h2);
    halves.set(`${u.key}|${v.key}`, h1);
    halves.set(`${v.key}|${u.key}`, h2);
  }
  const remove = (h: Half) => {
    h.removed = h.twin.removed = true;
    h.from.out = h.from.out.filter((x) => x !== h);
    h.to.out = h.to.out.filter((x) => x !== h.twin);
  };
  const pruneDangles = () => {
    const stack = [...nodes.values()].filter((n) => n.out.length === 1);
    while (stack.length) {
      const n = stack.pop()!;
      if (n.out.length !== 1) continue;
      const other = n.out[0]!.to;
      remove(n.out[0]!);
      if (other.out.length === 1) stack.push(other);
    }
  };
  let cycles: Half[][] = [];
  for (;;) {
    pruneDangles();
    for (const n of nodes.values()) n.out.sort((x, y) => x.angle - y.angle);
    const live = [...halves.values()].filter((h) => !h.removed);
    for (const h of live) h.cycle = -1;
    cycles = [];
    for (const start of live) {
      if (start.cycle >= 0) continue;
      const cycle: Half[] = [];
      let h = start;
      while (h.cycle < 0) {
        h.cycle = cycles.length;
        cycle.push(h);
        const out = h.to.out;
        const k = out.indexOf(h.twin);
        h = out[(k - 1 + out.length) % out.length]!; // the next edge clockwise from the way back
      }
      cycles.push(cycle);
    }
    const bridges = live.filter((h) => h.cycle === h.twin.cycle);
    if (!bridges.length) break;
    for (const h of bridges) if (!h.removed) remove(h);
  }
  const ringOf = (c: Half[]) => {
    const ring = c.map((h) => copyPoint(h.from.p));
    ring.push(copyPoint(c[0]!.from.p));
    return ring;
  };
  const rings = cycles.map(ringOf);
  const areas = rings.map((r) => ringSignedArea(r));
  const shells = cycles.map((_, i) => i).filter((i) => areas[i]! > 0);
  const faceOfCycle = new Map<number, number>();
  const faces: Face[] = shells.map((i, f) => {
    faceOfCycle.set(i, f);
    return { rings: [rings[i]!], area: areas[i]! };
  });
  // A clockwise cycle is a hole of the smallest shell around it, or the outside of everything.
  cycles.forEach((c, i) => {
    if (areas[i]! > 0) return;
    const shellKeys = (s: number) => new Set(cycles[s]!.map((h) => h.from.key));
    let best = -1;
    for (const s of shells) {
      if (areas[s]! <= -areas[i]!) continue;
      const keys = shellKeys(s);
      // a vertex of the cycle off the shell decides; a cycle all on the shell is its other side, not a hole in it
      const probe = c.find((h) => !keys.has(h.from.key));
      if (probe && pointInRing(probe.from.p, rings[s]!) && (best < 0 || areas[s]! < areas[best]!)) best = s;
    }
    if (best >= 0) {
      const f = faceOfCycle.get(best)!;
      faces[f]!.rings.push(rings[i]!);
      faces[f]!.area += areas[i]!;
      faceOfCycle.set(i, f);
    }
  });
  return {
    faces,
    faceLeftOf(a, b) {
      const h = halves.get(`${pointKey(a)}|${pointKey(b)}`);
      return h && !h.removed ? faceOfCycle.get(h.cycle) : undefined;
    },
    hasEdge(a, b) {
      const h = halves.get(`${pointKey(a)}|${pointKey(b)}`);
      return Boolean(h && !h.removed);
    },
  };
}
