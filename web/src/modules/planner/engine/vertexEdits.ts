/**
 * Edits of arc vertices. They change the arcs in place of the topology (a copy of the touched arcs only) and
 * rebuild the polygons of the grids that use those arcs; both grids of a shared arc therefore change together.
 * Each edit is refused when it would make edges cross or touch, put a vertex on another, turn a ring inside out,
 * or leave a ring with fewer than 3 distinct points; so the grids keep tiling what they tiled.
 */
import type { Position } from 'geojson';
import {
  boxOf,
  boxesMeet,
  copyPoint,
  cross,
  distance,
  distinctCount,
  isLonLat,
  pointSegment,
  ringSignedArea,
  samePoint,
  segmentDistance,
  type Pt,
} from './geometry.js';
import { gridsUsing, polygonsOf, rebuildTouched } from './state.js';
import { fail, type DeleteVertexArgs, type InsertVertexArgs, type MoveVertexArgs, type PlanState } from './types.js';

function arcOf(state: PlanState, arc: unknown): Position[] {
  if (!Number.isInteger(arc) || (arc as number) < 0 || (arc as number) >= state.topology.arcs.length) fail('NO_SUCH_ARC', `no arc ${String(arc)}`, { arc });
  return state.topology.arcs[arc as number]!;
}

function checkIndex(points: readonly Position[], index: unknown, arc: number): number {
  if (!Number.isInteger(index) || (index as number) < 0 || (index as number) >= points.length) fail('NO_SUCH_VERTEX', `arc ${arc} has no vertex ${String(index)}`, { arc, index });
  return index as number;
}

function checkPosition(p: unknown, what: string): Position {
  if (!isLonLat(p)) fail('UNKNOWN_EDIT', `${what} is not a [lon, lat] position`);
  return [p[0], p[1]];
}

function isBoundaryArc(state: PlanState, arc: number): boolean {
  return (state.arcUsers[arc]?.length ?? 0) < 2;
}

/** Every (arc, index) at the node p: arcs' first and last points equal to p. */
export function nodeEnds(state: PlanState, p: Pt): { arc: number; index: number }[] {
  const out: { arc: number; index: number }[] = [];
  state.topology.arcs.forEach((a, i) => {
    if (samePoint(a[0]!, p)) out.push({ arc: i, index: 0 });
    if (a.length > 1 && samePoint(a[a.length - 1]!, p)) out.push({ arc: i, index: a.length - 1 });
  });
  return out;
}

/** Whether q is in the closed triangle (the box rules out points on the line of a flat triangle). */
function inTriangle(q: Pt, [a, b, c]: readonly [Pt, Pt, Pt], box: readonly number[]): boolean {
  if (q[0]! < box[0]! || q[0]! > box[2]! || q[1]! < box[1]! || q[1]! > box[3]!) return false;
  const d1 = cross(a, b, q), d2 = cross(b, c, q), d3 = cross(c, a, q);
  return (d1 >= 0 && d2 >= 0 && d3 >= 0) || (d1 <= 0 && d2 <= 0 && d3 <= 0);
}

/** A new state with some arcs replaced; checks the changed segments, then rebuilds only the grids using them. */
function commitArcs(
  state: PlanState,
  replaced: Map<number, Position[]>,
  segments: { arc: number; i: number }[],
  newPoints: { p: Position; skip: (arc: number, index: number) => boolean }[],
  swept: (readonly [Pt, Pt, Pt])[],
): PlanState {
  const arcs = state.topology.arcs.slice();
  for (const [a, pts] of replaced) arcs[a] = pts;
  const next0: PlanState = { ...state, topology: { ...state.topology, arcs } };
  const next = rebuildTouched(next0, replaced.keys());
  const tol = state.options.tolerance;
  // 0. every ring keeps 3 distinct points
  const touched = gridsUsing(next, replaced.keys());
  for (const g of touched) {
    for (const rings of polygonsOf(next.features[g]!.geometry)) {
      for (const ring of rings) {
        if (distinctCount(ring) < 3) fail('RING_TOO_SMALL', `a ring of grid ${next.features[g]!.properties.code} would keep fewer than 3 points`, { code: next.features[g]!.properties.code });
      }
    }
  }
  // 1. no vertex on another
  for (const { p, skip } of newPoints) {
    const box = boxOf([p]);
    next.arcBoxes.forEach((b, a) => {
      if (!boxesMeet(b, box, tol)) return;
      const pts = arcs[a]!;
      pts.forEach((q, j) => {
        if (skip(a, j)) return;
        if (distance(p, q) <= tol) fail('VERTEX_COINCIDENT', `the vertex would land on a vertex of arc ${a}`, { arc: a, index: j });
      });
    });
  }
  // 2. no changed edge crosses, overlaps or comes within tolerance of another
  for (const { arc, i } of segments) {
    const s0 = arcs[arc]![i]!, s1 = arcs[arc]![i + 1]!;
    const box = boxOf([s0, s1]);
    next.arcBoxes.forEach((b, a) => {
      if (!boxesMeet(b, box, tol)) return;
      const pts = arcs[a]!;
      for (let j = 0; j + 1 < pts.length; j++) {
        if (a === arc && j === i) continue;
        const t0 = pts[j]!, t1 = pts[j + 1]!;
        if (Math.max(t0[0]!, t1[0]!) < box[0] - tol || Math.min(t0[0]!, t1[0]!) > box[2] + tol) continue;
        if (Math.max(t0[1]!, t1[1]!) < box[1] - tol || Math.min(t0[1]!, t1[1]!) > box[3] + tol) continue;
        const shared = [samePoint(s0, t0) || samePoint(s0, t1), samePoint(s1, t0) || samePoint(s1, t1)];
        let bad: boolean;
        if (shared[0] && shared[1]) bad = true;
        else if (shared[0] || shared[1]) {
          const sOther = shared[0] ? s1 : s0;
          const tOther = samePoint(shared[0] ? s0 : s1, t0) ? t1 : t0;
          bad = pointSegment(tOther, s0, s1).dist <= tol || pointSegment(sOther, t0, t1).dist <= tol;
        } else bad = segmentDistance(s0, s1, t0, t1) <= tol;
        if (bad) fail('EDGES_CROSS', `an edge of arc ${arc} would cross or touch an edge of arc ${a}`, { arc, segment: i, otherArc: a, otherSegment: j });
      }
    });
  }
  // 3. the area the edit sweeps over holds no other vertex (else a whole enclave or border could be jumped over)
  for (const tri of swept) {
    const box = boxOf(tri);
    next.arcBoxes.forEach((b, a) => {
      if (!boxesMeet(b, box, tol)) return;
      for (const q of arcs[a]!) {
        if (tri.some((t) => samePoint(t, q))) continue;
        if (inTriangle(q, tri, box)) fail('SWEEPS_OVER', `the edit would sweep over a vertex of arc ${a}`, { arc: a });
      }
    });
  }
  // 4. every ring of the touched grids keeps its orientation (and some area)
  for (const g of touched) {
    const before = polygonsOf(state.features[g]!.geometry), after = polygonsOf(next.features[g]!.geometry);
    after.forEach((rings, pi) =>
      rings.forEach((ring, ri) => {
        const a0 = ringSignedArea(before[pi]![ri]!), a1 = ringSignedArea(ring);
        if (a1 === 0 || Math.sign(a0) !== Math.sign(a1)) fail('RING_FLIPPED', `a ring of grid ${next.features[g]!.properties.code} would turn inside out`, { code: next.features[g]!.properties.code });
      }),
    );
  }
  return next;
}

/**
 * Moves one vertex of an arc. A vertex inside the arc changes the (one or two) grids that use the arc; an end of
 * the arc is a node, and every arc that ends there moves with it (all grids meeting there change).
 */
export function moveVertexState(state: PlanState, args: MoveVertexArgs): PlanState {
  const pts = arcOf(state, args.arc);
  const index = checkIndex(pts, args.index, args.arc);
  const to = checkPosition(args.to, 'to');
  const p = pts[index]!;
  if (args.from !== undefined && !(isLonLat(args.from) && samePoint(args.from, p))) fail('STALE_EDIT', `vertex ${index} of arc ${args.arc} is not at ${JSON.stringify(args.from)}`);
  const ends = index === 0 || index === pts.length - 1 ? nodeEnds(state, p) : [{ arc: args.arc, index }];
  if (state.options.lockBoundary && ends.some((e) => isBoundaryArc(state, e.arc))) fail('BOUNDARY_LOCKED', 'the vertex is on the outer boundary', { arc: args.arc, index });
  const replaced = new Map<number, Position[]>();
  for (const e of ends) {
    const arc = replaced.get(e.arc) ?? state.topology.arcs[e.arc]!.slice();
    arc[e.index] = copyPoint(to);
    replaced.set(e.arc, arc);
  }
  const segments: { arc: number; i: number }[] = [];
  for (const e of ends) {
    const n = replaced.get(e.arc)!.length;
    if (e.index > 0) segments.push({ arc: e.arc, i: e.index - 1 });
    if (e.index < n - 1) segments.push({ arc: e.arc, i: e.index });
  }
  const moved = new Set(ends.map((e) => `${e.arc}:${e.index}`));
  const swept: [Pt, Pt, Pt][] = [];
  for (const e of ends) {
    const old = state.topology.arcs[e.arc]!;
    if (e.index > 0) swept.push([old[e.index - 1]!, p, to]);
    if (e.index < old.length - 1) swept.push([old[e.index + 1]!, p, to]);
  }
  return commitArcs(state, replaced, segments, [{ p: to, skip: (a, j) => moved.has(`${a}:${j}`) }], swept);
}

/** Inserts a vertex into an arc between `after` and `after + 1` (both grids of a shared arc get it). */
export function insertVertexState(state: PlanState, args: InsertVertexArgs): PlanState {
  const pts = arcOf(state, args.arc);
  if (!Number.isInteger(args.after) || args.after < 0 || args.after >= pts.length - 1) fail('NO_SUCH_VERTEX', `arc ${args.arc} has no segment after vertex ${String(args.after)}`);
  const at = checkPosition(args.at, 'at');
  if (state.options.lockBoundary && isBoundaryArc(state, args.arc) && pointSegment(at, pts[args.after]!, pts[args.after + 1]!).dist > state.options.tolerance) {
    fail('BOUNDARY_LOCKED', 'a vertex inserted on the outer boundary must lie on it', { arc: args.arc });
  }
  const arc = [...pts.slice(0, args.after + 1), copyPoint(at), ...pts.slice(args.after + 1)];
  const k = args.after + 1;
  const swept: [Pt, Pt, Pt][] = [[pts[args.after]!, pts[args.after + 1]!, at]];
  return commitArcs(state, new Map([[args.arc, arc]]), [{ arc: args.arc, i: k - 1 }, { arc: args.arc, i: k }], [{ p: at, skip: (a, j) => a === args.arc && j === k }], swept);
}

/**
 * Deletes a vertex inside an arc. A node (where 3+ grids or the outer boundary meet) cannot be deleted; the start of
 * an arc that is a whole ring by itself can (the ring then starts at the next vertex).
 */
export function deleteVertexState(state: PlanState, args: DeleteVertexArgs): PlanState {
  const pts = arcOf(state, args.arc);
  const index = checkIndex(pts, args.index, args.arc);
  const p = pts[index]!;
  if (args.from !== undefined && !(isLonLat(args.from) && samePoint(args.from, p))) fail('STALE_EDIT', `vertex ${index} of arc ${args.arc} is not at ${JSON.stringify(args.from)}`);
  const last = pts.length - 1;
  let arc: Position[], seg: number, prev: Position, next: Position;
  if (index > 0 && index < last) {
    arc = [...pts.slice(0, index), ...pts.slice(index + 1)];
    seg = index - 1;
    prev = pts[index - 1]!;
    next = pts[index + 1]!;
  } else {
    const closed = samePoint(pts[0]!, pts[last]!);
    if (!closed || nodeEnds(state, p).length !== 2) fail('NODE_NOT_DELETABLE', `vertex ${index} of arc ${args.arc} is a node where arcs meet`, { arc: args.arc, index });
    if (pts.length < 4) fail('RING_TOO_SMALL', 'the ring would keep fewer than 3 points');
    arc = [...pts.slice(1, last), copyPoint(pts[1]!)];
    seg = arc.length - 2;
    prev = pts[last - 1]!;
    next = pts[1]!;
  }
  if (state.options.lockBoundary && isBoundaryArc(state, args.arc) && pointSegment(p, prev, next).dist > state.options.tolerance) {
    fail('BOUNDARY_LOCKED', 'deleting this vertex would change the outer boundary', { arc: args.arc, index });
  }
  return commitArcs(state, new Map([[args.arc, arc]]), [{ arc: args.arc, i: seg }], [], [[prev, p, next]]);
}
