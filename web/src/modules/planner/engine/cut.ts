/**
 * Cutting a grid with lines: the points where the lines meet the grid's border are inserted into the border's
 * arcs (so the neighbour on the other side of a shared arc gets the very same point) and into the lines; then
 * the grid's rings and the parts of the lines inside it are arranged into faces (faces.ts).
 */
import type { Position } from 'geojson';
import { arrange, type Arrangement } from './faces.js';
import {
  boxOf,
  boxesMeet,
  copyPoint,
  distance,
  distanceToRings,
  lerp,
  pointInPolygon,
  pointKey,
  pointSegment,
  properCrossing,
  samePoint,
  segmentDistance,
} from './geometry.js';
import { arcIdsOf, polygonsOf, rebuildTouched } from './state.js';
import { fail, type PlanErrorCode, type PlanState } from './types.js';

/** Refuses a line (or closed ring) that crosses or touches itself. */
export function assertSimple(line: readonly Position[], closed: boolean, tol: number, code: PlanErrorCode, what: string): void {
  const n = line.length - 1; // segments
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const a = line[i]!, b = line[i + 1]!, c = line[j]!, d = line[j + 1]!;
      const adjacent = j === i + 1 || (closed && i === 0 && j === n - 1);
      if (adjacent) {
        // they share one end: the other ends must stay off the other segment
        const [p, q] = j === i + 1 ? [a, d] : [b, c];
        if (pointSegment(p, c, d).dist <= tol && !samePoint(p, c) && !samePoint(p, d)) fail(code, `${what} folds back on itself`);
        if (pointSegment(q, a, b).dist <= tol && !samePoint(q, a) && !samePoint(q, b)) fail(code, `${what} folds back on itself`);
      } else if (segmentDistance(a, b, c, d) <= tol) fail(code, `${what} crosses itself`, { segments: [i, j] });
    }
  }
}

interface Insert { t: number; p: Position }

function addInsert(map: Map<number, Map<number, Insert[]>>, k: number, seg: number, ins: Insert): void {
  let bySeg = map.get(k);
  if (!bySeg) map.set(k, (bySeg = new Map()));
  const list = bySeg.get(seg) ?? [];
  if (!list.some((x) => samePoint(x.p, ins.p))) list.push(ins);
  bySeg.set(seg, list);
}

function applyInserts(points: readonly Position[], bySeg: Map<number, Insert[]> | undefined): Position[] {
  if (!bySeg) return points.slice();
  const out: Position[] = [];
  for (let i = 0; i < points.length; i++) {
    if (!out.length || !samePoint(out[out.length - 1]!, points[i]!)) out.push(points[i]!);
    for (const { p } of (bySeg.get(i) ?? []).sort((x, y) => x.t - y.t)) if (!samePoint(out[out.length - 1]!, p)) out.push(p);
  }
  return out;
}

/**
 * Inserts the meeting points of `lines` and the border of grid `g` into both. Line vertices within `tolerance`
 * of a border vertex take its coordinates; those within `tolerance` of a border edge go onto it.
 */
export function nodeLines(state: PlanState, g: number, input: readonly Position[][]): { state: PlanState; lines: Position[][]; arcs: number[] } {
  const tol = state.options.tolerance;
  const geom = state.topology.objects.grids.geometries[g]!;
  const arcIds = arcIdsOf(geom);
  const arcs = state.topology.arcs;
  const lines = input.map((l) => l.map(copyPoint));
  const lineBox = boxOf(lines.flat());
  const near = arcIds.filter((a) => boxesMeet(state.arcBoxes[a]!, lineBox, tol));
  const arcInserts = new Map<number, Map<number, Insert[]>>();
  const lineInserts = new Map<number, Map<number, Insert[]>>();
  // A. line vertices near a border vertex take it
  for (const line of lines) {
    line.forEach((c, k) => {
      for (const a of near) for (const q of arcs[a]!) if (distance(c, q) <= tol) { line[k] = copyPoint(q); return; }
    });
  }
  const isBorderVertex = (c: Position) => near.some((a) => arcs[a]!.some((q) => samePoint(q, c)));
  // B. line vertices on a border edge go into the arc
  for (const line of lines) {
    line.forEach((c, k) => {
      if (isBorderVertex(c)) return;
      for (const a of near) {
        const pts = arcs[a]!;
        for (let i = 0; i + 1 < pts.length; i++) {
          const hit = pointSegment(c, pts[i]!, pts[i + 1]!);
          if (hit.dist > tol) continue;
          const p = lerp(pts[i]!, pts[i + 1]!, hit.t);
          addInsert(arcInserts, a, i, { t: hit.t, p });
          line[k] = p;
          return;
        }
      }
    });
  }
  // C. border vertices on a line segment go into the line
  lines.forEach((line, l) => {
    for (let j = 0; j + 1 < line.length; j++) {
      const c = line[j]!, d = line[j + 1]!;
      for (const a of near) {
        for (const q of arcs[a]!) {
          if (samePoint(q, c) || samePoint(q, d)) continue;
          const hit = pointSegment(q, c, d);
          if (hit.dist <= tol && distance(q, c) > tol && distance(q, d) > tol) addInsert(lineInserts, l, j, { t: hit.t, p: q });
        }
      }
    }
  });
  // D. proper crossings go into both
  lines.forEach((line, l) => {
    for (let j = 0; j + 1 < line.length; j++) {
      const c = line[j]!, d = line[j + 1]!;
      const segBox = boxOf([c, d]);
      for (const a of near) {
        if (!boxesMeet(state.arcBoxes[a]!, segBox, tol)) continue;
        const pts = arcs[a]!;
        for (let i = 0; i + 1 < pts.length; i++) {
          const A = pts[i]!, B = pts[i + 1]!;
          const x = properCrossing(A, B, c, d);
          if (!x) continue;
          const p = lerp(A, B, x.t);
          if (distance(p, A) <= tol || distance(p, B) <= tol || distance(p, c) <= tol || distance(p, d) <= tol) continue;
          addInsert(arcInserts, a, i, { t: x.t, p });
          addInsert(lineInserts, l, j, { t: x.u, p });
        }
      }
    }
  });
  const nodedLines = lines.map((line, l) => applyInserts(line, lineInserts.get(l)));
  if (!arcInserts.size) return { state, lines: nodedLines, arcs: [] };
  const newArcs = arcs.slice();
  for (const [a, bySeg] of arcInserts) newArcs[a] = applyInserts(arcs[a]!, bySeg);
  const next = rebuildTouched({ ...state, topology: { ...state.topology, arcs: newArcs } }, arcInserts.keys());
  return { state: next, lines: nodedLines, arcs: [...arcInserts.keys()] };
}

export interface Cut {
  /** the state with the meeting points inserted into the arcs */
  state: PlanState;
  /** arcs that got new points */
  arcs: number[];
  arrangement: Arrangement;
  /** faces of the arrangement inside the grid */
  inside: number[];
  /** the segments of the (noded) lines inside the grid, in the lines' direction */
  cutSegments: [Position, Position][];
  /** the grid's polygons after the insertions */
  polygons: Position[][][];
}

/** Noded lines + the grid's rings → the faces the lines cut the grid into. */
export function cutGrid(state0: PlanState, g: number, lines: readonly Position[][]): Cut {
  const tol = state0.options.tolerance;
  const { state, lines: noded, arcs } = nodeLines(state0, g, lines);
  const polygons = polygonsOf(state.features[g]!.geometry);
  const border = new Set<string>();
  const segments: [Position, Position][] = [];
  for (const rings of polygons) {
    for (const ring of rings) {
      for (let i = 0; i + 1 < ring.length; i++) {
        border.add(`${pointKey(ring[i]!)}|${pointKey(ring[i + 1]!)}`);
        segments.push([ring[i]!, ring[i + 1]!]);
      }
    }
  }
  const allRings = polygons.flat();
  const cutSegments: [Position, Position][] = [];
  for (const line of noded) {
    for (let j = 0; j + 1 < line.length; j++) {
      const c = line[j]!, d = line[j + 1]!;
      if (samePoint(c, d) || border.has(`${pointKey(c)}|${pointKey(d)}`) || border.has(`${pointKey(d)}|${pointKey(c)}`)) continue;
      const mid: Position = [(c[0]! + d[0]!) / 2, (c[1]! + d[1]!) / 2];
      if (distanceToRings(mid, allRings) <= tol) continue;
      if (!polygons.some((rings) => pointInPolygon(mid, rings))) continue;
      cutSegments.push([c, d]);
    }
  }
  const arrangement = arrange([...segments, ...cutSegments]);
  const inside: number[] = [];
  arrangement.faces.forEach((f, i) => {
    const shell = f.rings[0]!;
    for (let k = 0; k + 1 < shell.length; k++) {
      const a = pointKey(shell[k]!), b = pointKey(shell[k + 1]!);
      if (border.has(`${a}|${b}`)) { inside.push(i); return; }
      if (border.has(`${b}|${a}`)) return;
    }
    inside.push(i); // bounded by the lines only: a loop drawn inside the grid
  });
  return { state, arcs, arrangement, inside, cutSegments, polygons };
}
