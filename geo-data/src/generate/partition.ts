import { area, centroid, clipHalfPlane, dot, minWidth, normal, unit, type Pt } from './geometry.js';
import type { Random } from './random.js';
import type { Cell, Line, RoadClass, Topology } from './topology.js';

/** How one level of the hierarchy is cut. */
export interface LevelRule {
  roadClass: RoadClass;
  /** Chance to continue a neighbour's road straight across instead of drawing a new one (makes crossings, not only T-junctions). */
  reuse: number;
  /** Chance that a new road runs at a skewed angle. */
  diagonal: number;
  /** Pieces narrower than this share of the side of a square child are rejected. */
  slenderness: number;
  /** Minimum distance from a new road to an existing vertex, in metres. */
  clearance: number;
}

/** The state one partition run shares: topology, randomness, the level's orientation and district. */
export interface PartitionContext {
  topo: Topology;
  rng: Random;
  rule: LevelRule;
  /** Main street direction of the district, in radians from east. */
  orientation: number;
  district: number;
}

/**
 * Cuts a convex cell into `weights.length` convex cells whose areas are proportional to the
 * weights, by recursive straight cuts. Every cut is a road line of the level's class. With
 * `strict` false, a piece that cannot be cut acceptably is left whole (blocks); otherwise the
 * rules are relaxed until it can.
 */
export function partition(ctx: PartitionContext, cell: Cell, weights: number[], strict: boolean): Cell[] {
  const total = weights.reduce((a, b) => a + b, 0);
  const unitArea = area(cell.pts) / total;
  const run = (c: Cell, w: number[], hint: Line | undefined): { cells: Cell[]; line?: Line } => {
    if (w.length <= 1) return { cells: [c] };
    const cut = (hint && ctx.rng.chance(ctx.rule.reuse) && tryHint(ctx, c, w, hint, unitArea)) || chooseCut(ctx, c, w, unitArea, strict);
    if (!cut) {
      if (strict) throw new Error('generator: could not partition a cell');
      return { cells: [c] };
    }
    const line = cut.line ?? ctx.topo.addLine(cut.p, cut.d, ctx.rule.roadClass, ctx.district);
    const [left, right] = ctx.topo.split(c, line);
    const a = run(left, w.slice(0, cut.k), undefined);
    const b = run(right, w.slice(cut.k), a.line);
    return { cells: [...a.cells, ...b.cells], line };
  };
  return run(cell, weights, undefined).cells;
}

interface CutChoice {
  /** Weights [0, k) go to the left piece. */
  k: number;
  p: Pt;
  d: Pt;
  line?: Line;
}

const prefix = (w: number[], k: number) => w.slice(0, k).reduce((a, b) => a + b, 0);

function acceptable(ctx: PartitionContext, c: Cell, p: Pt, d: Pt, unitArea: number, relax: number): boolean {
  const cut = ctx.topo.evaluate(c, p, d);
  if (cut.pos.length < 3 || cut.neg.length < 3) return false;
  if (cut.clearance < ctx.rule.clearance * relax || cut.sine < 0.5 * relax) return false;
  // Every piece must be at least a fair share of the side of one square leaf wide, so no leaf is a sliver.
  const side = Math.sqrt(unitArea) * ctx.rule.slenderness * relax;
  return minWidth(cut.pos) >= side && minWidth(cut.neg) >= side;
}

/** Continues a road from the sibling cell if it happens to cut this one in a usable ratio. */
function tryHint(ctx: PartitionContext, c: Cell, w: number[], hint: Line, unitArea: number): CutChoice | null {
  const cut = ctx.topo.evaluate(c, hint.p, hint.d);
  if (cut.pos.length < 3 || cut.neg.length < 3) return null;
  const total = prefix(w, w.length);
  const f = area(cut.pos) / area(c.pts);
  let best = -1;
  for (let k = 1; k < w.length; k++) if (best < 0 || Math.abs(prefix(w, k) / total - f) < Math.abs(prefix(w, best) / total - f)) best = k;
  // Weights count leaf cells: allow a third of a leaf of mismatch, or 4 % of the cell when it holds many.
  if (Math.abs(prefix(w, best) - f * total) > Math.max(0.35, 0.04 * total)) return null;
  if (!acceptable(ctx, c, hint.p, hint.d, unitArea, 1)) return null;
  return { k: best, p: hint.p, d: hint.d, line: hint };
}

/** A new cut across the cell's longer extent, at the offset that gives the wanted area split. */
function chooseCut(ctx: PartitionContext, c: Cell, w: number[], unitArea: number, strict: boolean): CutChoice | null {
  const { rng, rule } = ctx;
  const total = prefix(w, w.length);
  // Split the weights near the middle, so the recursion stays balanced.
  let k = 1;
  for (let i = 1; i < w.length; i++) if (Math.abs(prefix(w, i) - total / 2) < Math.abs(prefix(w, k) - total / 2)) k = i;
  const f = prefix(w, k) / total;
  const u = unit(ctx.orientation);
  const v = normal(u);
  const extent = (axis: Pt) => Math.max(...c.pts.map((p) => dot(p, axis))) - Math.min(...c.pts.map((p) => dot(p, axis)));
  const across = extent(u) >= extent(v);
  for (let attempt = 0; attempt < 60; attempt++) {
    const relax = attempt < 20 ? 1 : attempt < 40 ? 0.6 : strict ? 0.25 : 0.6;
    // Usually cut across the longer extent; a few attempts in ten try the other way round.
    const perpendicular = across !== attempt % 10 >= 7;
    let angle = ctx.orientation + (perpendicular ? Math.PI / 2 : 0) + rng.range(-0.07, 0.07);
    if (attempt < 20 && rng.chance(rule.diagonal)) angle += (rng.chance(0.5) ? 1 : -1) * rng.range(0.35, 0.6);
    const d = unit(angle);
    const p = offsetFor(c.pts, d, f);
    if (acceptable(ctx, c, p, d, unitArea, relax)) return { k, p, d };
  }
  return null;
}

/** A point through which a line of direction `d` leaves `f` of the polygon's area on its left. */
function offsetFor(poly: Pt[], d: Pt, f: number): Pt {
  const n = normal(d);
  const total = area(poly);
  let lo = Math.min(...poly.map((p) => dot(p, n)));
  let hi = Math.max(...poly.map((p) => dot(p, n)));
  for (let i = 0; i < 50; i++) {
    const mid = (lo + hi) / 2;
    if (area(clipHalfPlane(poly, n, mid)) > f * total) lo = mid;
    else hi = mid;
  }
  const c = (lo + hi) / 2;
  const o = centroid(poly);
  const shift = c - dot(o, n);
  return { x: o.x + n.x * shift, y: o.y + n.y * shift };
}
