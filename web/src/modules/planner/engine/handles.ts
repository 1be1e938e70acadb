/** What a map UI needs to draw and drag: vertex handles, midpoints for inserting, the arcs of a grid. */
import type { Position } from 'geojson';
import { copyPoint, pointKey, samePoint } from './geometry.js';
import { arcIdsOf, gridIndex, propsOf } from './state.js';
import type { PlanState } from './types.js';

export interface VertexHandle {
  /** pass these to moveVertex / deleteVertex */
  arc: number;
  index: number;
  position: Position;
  /** an end of arcs (where 3+ grids or the outer boundary meet): moving it moves every arc listed in `arcs` */
  node: boolean;
  /** the arcs through the vertex (one, unless it is a node) */
  arcs: number[];
  /** the grids whose borders move with the vertex */
  codes: string[];
  shared: boolean;
  /** on the outer boundary (an arc used by one grid only) */
  boundary: boolean;
}

export interface MidpointHandle {
  /** pass these to insertVertex */
  arc: number;
  after: number;
  position: Position;
  codes: string[];
}

export interface ArcInfo {
  arc: number;
  codes: string[];
  shared: boolean;
  coordinates: Position[];
}

function codesOf(state: PlanState, arcs: Iterable<number>): string[] {
  const set = new Set<number>();
  for (const a of arcs) for (const g of state.arcUsers[a] ?? []) set.add(g);
  return [...set].sort((x, y) => x - y).map((g) => propsOf(state, g).code);
}

function arcsFor(state: PlanState, code?: string): number[] {
  if (code === undefined) return [...state.topology.arcs.keys()];
  return arcIdsOf(state.topology.objects.grids.geometries[gridIndex(state, code)]!);
}

/** One handle per vertex (a node once, however many arcs end there); only `code`'s vertices when given. */
export function vertices(state: PlanState, code?: string): VertexHandle[] {
  const arcs = state.topology.arcs;
  const ends = new Map<string, number[]>();
  arcs.forEach((pts, a) => {
    for (const p of [pts[0]!, pts[pts.length - 1]!]) {
      const k = pointKey(p);
      const list = ends.get(k) ?? [];
      if (!list.includes(a)) list.push(a);
      ends.set(k, list);
    }
  });
  const out: VertexHandle[] = [];
  const seenNodes = new Set<string>();
  for (const a of arcsFor(state, code)) {
    const pts = arcs[a]!;
    const closed = pts.length > 1 && samePoint(pts[0]!, pts[pts.length - 1]!);
    pts.forEach((p, index) => {
      const isEnd = index === 0 || index === pts.length - 1;
      if (closed && index === pts.length - 1) return;
      if (isEnd) {
        const k = pointKey(p);
        if (seenNodes.has(k)) return;
        seenNodes.add(k);
        const through = ends.get(k)!;
        const codes = codesOf(state, through);
        // the start of a ring that is one arc by itself is not a real node
        const node = !(closed && through.length === 1);
        out.push({ arc: a, index, position: copyPoint(p), node, arcs: through, codes, shared: codes.length > 1, boundary: through.some((x) => state.arcUsers[x]!.length < 2) });
      } else {
        const codes = codesOf(state, [a]);
        out.push({ arc: a, index, position: copyPoint(p), node: false, arcs: [a], codes, shared: codes.length > 1, boundary: codes.length < 2 });
      }
    });
  }
  return out;
}

/** The middle of every edge, where dragging inserts a vertex. */
export function midpoints(state: PlanState, code?: string): MidpointHandle[] {
  const out: MidpointHandle[] = [];
  for (const a of arcsFor(state, code)) {
    const pts = state.topology.arcs[a]!;
    const codes = codesOf(state, [a]);
    for (let i = 0; i + 1 < pts.length; i++) {
      out.push({ arc: a, after: i, position: [(pts[i]![0]! + pts[i + 1]![0]!) / 2, (pts[i]![1]! + pts[i + 1]![1]!) / 2], codes });
    }
  }
  return out;
}

/** The arcs of a grid's border, with the grids that share each. */
export function arcsOf(state: PlanState, code: string): ArcInfo[] {
  return arcsFor(state, code).map((a) => {
    const codes = codesOf(state, [a]);
    return { arc: a, codes, shared: codes.length > 1, coordinates: state.topology.arcs[a]!.map(copyPoint) };
  });
}

/** The grids that share a border (an arc) with `code`. */
export function neighbours(state: PlanState, code: string): string[] {
  return codesOf(state, arcsFor(state, code)).filter((c) => c !== code);
}
