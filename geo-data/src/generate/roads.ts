import { add, mul, type Pt } from './geometry.js';
import type { Layout } from './layout.js';
import type { Random } from './random.js';
import type { Line, RoadClass } from './topology.js';

/** One road row: a polyline whose junctions are vertices shared with the roads it meets. */
export interface RoadPlan {
  name: string | null;
  roadClass: RoadClass;
  bridge: boolean;
  layer: number;
  oneway: boolean;
  points: Pt[];
  district: number;
  sourceId: string;
}

const RANK: Partial<Record<RoadClass, number>> = { trunk: 4, primary: 3, secondary: 2, tertiary: 1 };

/**
 * Turns the topology's lines into roads: each used stretch of a line becomes one polyline through
 * every junction on it. Each district's diagonal avenue passes over one main road on a short
 * bridge (layer 1) instead of meeting it.
 */
export function buildRoads(layout: Layout, rng: Random): RoadPlan[] {
  const { topo } = layout;
  const linesAt = new Map<Pt, Line[]>();
  for (const line of topo.lines) for (const p of line.points) linesAt.set(p, [...(linesAt.get(p) ?? []), line]);
  const bridges = new Map(layout.diagonals.map((g) => [g, bridgeSpan(layout, g, linesAt)] as const));
  const roads: RoadPlan[] = [];
  for (const line of topo.lines) {
    if (!line.intervals.length) continue;
    const oneway = (line.roadClass === 'tertiary' || line.roadClass === 'residential') && rng.chance(0.12);
    const base = { name: line.name, roadClass: line.roadClass, bridge: false, layer: 0, oneway, district: line.district };
    if (line.curve) {
      roads.push({ ...base, points: line.curve, sourceId: `road-${line.id}` });
      continue;
    }
    let pieces = stretches(layout, line);
    const span = bridges.get(line);
    if (span) pieces = pieces.flatMap((pts) => cutBridge(layout, line, pts, span));
    pieces.forEach((piece, i) => {
      const bridge = piece === span?.deck;
      roads.push({ ...base, bridge, layer: bridge ? 1 : 0, points: piece, sourceId: `road-${line.id}-${i + 1}` });
    });
  }
  return roads;
}

/** The polylines of a line: its junction points, sorted along it, within each merged used interval. */
function stretches(layout: Layout, line: Line): Pt[][] {
  const { topo } = layout;
  const merged = mergedIntervals(line);
  const points = [...new Set(line.points)].map((p) => ({ p, t: topo.along(line, p) })).sort((a, b) => a.t - b.t);
  return merged
    .map(([a, b]) => points.filter(({ t }) => t >= a - 1e-6 && t <= b + 1e-6).map(({ p }) => p))
    .map((pts) => pts.filter((p, i) => i === 0 || Math.hypot(p.x - pts[i - 1].x, p.y - pts[i - 1].y) > 1e-6))
    .filter((pts) => pts.length >= 2);
}

/** A line's used intervals, with touching ones joined (a road continued across a junction). */
function mergedIntervals(line: Line): [number, number][] {
  const merged: [number, number][] = [];
  for (const [a, b] of line.intervals.slice().sort((x, y) => x[0] - y[0])) {
    const last = merged[merged.length - 1];
    if (last && a <= last[1] + 1e-6) last[1] = Math.max(last[1], b);
    else merged.push([a, b]);
  }
  return merged;
}

interface BridgeSpan {
  /** Along-line positions where the deck starts and ends. */
  from: number;
  to: number;
  deck?: Pt[];
}

/** The widest road the diagonal crosses with room around it: there the diagonal becomes a flyover. */
function bridgeSpan(layout: Layout, diagonal: Line, linesAt: Map<Pt, Line[]>): BridgeSpan | null {
  const { topo } = layout;
  const ts = [...new Set(diagonal.points)].map((p) => topo.along(diagonal, p)).sort((a, b) => a - b);
  let best: { t: number; rank: number; half: number } | null = null;
  for (const p of new Set(diagonal.points)) {
    // Only a road that runs on past the crossing on both sides (a crossing, not a T-junction).
    const crossing = (linesAt.get(p) ?? []).filter((l) => {
      const s = topo.along(l, p);
      return l !== diagonal && RANK[l.roadClass] && mergedIntervals(l).some(([a, b]) => a + 1 < s && s < b - 1);
    });
    if (!crossing.length) continue;
    const t = topo.along(diagonal, p);
    const i = ts.indexOf(t);
    if (i <= 0 || i >= ts.length - 1) continue;
    const half = Math.min(70, 0.45 * Math.min(t - ts[i - 1], ts[i + 1] - t));
    const rank = Math.max(...crossing.map((l) => RANK[l.roadClass]!));
    if (half < 20) continue;
    if (!best || rank > best.rank || (rank === best.rank && half > best.half)) best = { t, rank, half };
  }
  return best && { from: best.t - best.half, to: best.t + best.half };
}

/** Splits a polyline at the bridge deck: at grade up to the deck, the deck (no vertex at the crossing), at grade after. */
function cutBridge(layout: Layout, line: Line, pts: Pt[], span: BridgeSpan): Pt[][] {
  const t = (p: Pt) => layout.topo.along(line, p);
  if (t(pts[0]) >= span.from || t(pts[pts.length - 1]) <= span.to) return [pts];
  const at = (s: number) => add(line.p, mul(line.d, s));
  const start = at(span.from);
  const end = at(span.to);
  span.deck = [start, end];
  return [[...pts.filter((p) => t(p) < span.from), start], span.deck, [end, ...pts.filter((p) => t(p) > span.to)]];
}
