import { add, centroid, dot, mul, normal, sub, type Pt } from './geometry.js';
import type { Random } from './random.js';

/** How buildings of one kind are arranged: rows of footprints along the block's main axis. */
export interface RowSpec {
  /** Footprint depth across the row, metres. */
  depth: [number, number];
  /** Open space between rows (sunlight spacing), metres. */
  rowGap: [number, number];
  /** Footprint length along the row, metres. */
  length: [number, number];
  /** Space between footprints in a row, metres. */
  gap: [number, number];
  /** Lengths vary building by building (terraced lanes) instead of block by block (estates). */
  varied: boolean;
  /** At most this many footprints per block (0: no limit). */
  max: number;
}

/** A rectangle in the local frame, with the measures the household count needs. */
export interface Footprint {
  ring: Pt[];
  lengthM: number;
  depthM: number;
}

/** The axes of a block: `u` along its longest edge, `v` across. */
export interface BlockFrame {
  origin: Pt;
  u: Pt;
  v: Pt;
}

export function frameOf(poly: readonly Pt[]): BlockFrame {
  let best = 0;
  let u = { x: 1, y: 0 };
  for (let i = 0; i < poly.length; i++) {
    const e = sub(poly[(i + 1) % poly.length], poly[i]);
    const len = Math.hypot(e.x, e.y);
    if (len > best) {
      best = len;
      u = mul(e, 1 / len);
    }
  }
  return { origin: centroid(poly), u, v: normal(u) };
}

export const toFrame = (f: BlockFrame, p: Pt): Pt => ({ x: dot(sub(p, f.origin), f.u), y: dot(sub(p, f.origin), f.v) });
export const fromFrame = (f: BlockFrame, q: Pt): Pt => add(f.origin, add(mul(f.u, q.x), mul(f.v, q.y)));

/** Where the horizontal line y = c crosses a convex polygon (local frame), or null. */
function chord(poly: readonly Pt[], c: number): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < poly.length; i++) {
    const a = poly[i];
    const b = poly[(i + 1) % poly.length];
    if ((a.y - c) * (b.y - c) > 0 || a.y === b.y) continue;
    const x = a.x + ((c - a.y) / (b.y - a.y)) * (b.x - a.x);
    lo = Math.min(lo, x);
    hi = Math.max(hi, x);
  }
  return lo < hi ? [lo, hi] : null;
}

/**
 * Fills a convex polygon (already set back from the roads) with rows of rectangular footprints
 * that lie wholly inside it and never overlap. `corridor` keeps a strip across the rows free
 * (an estate's internal road), as [from, to] along `u`.
 */
export function layRows(poly: readonly Pt[], frame: BlockFrame, spec: RowSpec, rng: Random, corridor?: [number, number]): Footprint[] {
  const local = poly.map((p) => toFrame(frame, p));
  const depth = rng.range(...spec.depth);
  const rowGap = rng.range(...spec.rowGap);
  const length = rng.range(...spec.length);
  const gap = rng.range(...spec.gap);
  const vMin = Math.min(...local.map((p) => p.y));
  const vMax = Math.max(...local.map((p) => p.y));
  const rows = Math.floor((vMax - vMin + rowGap) / (depth + rowGap));
  const start = vMin + (vMax - vMin - (rows * (depth + rowGap) - rowGap)) / 2;
  const out: Footprint[] = [];
  for (let r = 0; r < rows; r++) {
    const v0 = start + r * (depth + rowGap);
    const a = chord(local, v0 + 0.01);
    const b = chord(local, v0 + depth - 0.01);
    if (!a || !b) continue;
    const span: [number, number] = [Math.max(a[0], b[0]) + 0.5, Math.min(a[1], b[1]) - 0.5];
    const spans = corridor ? [[span[0], Math.min(span[1], corridor[0])], [Math.max(span[0], corridor[1]), span[1]]] : [span];
    for (const [s0, s1] of spans) {
      for (const [u0, len] of fill(s1 - s0, length, gap, spec.varied, rng)) {
        const d = depth - (spec.varied ? 0 : rng.range(0, 1));
        const corners = [
          { x: s0 + u0, y: v0 },
          { x: s0 + u0 + len, y: v0 },
          { x: s0 + u0 + len, y: v0 + d },
          { x: s0 + u0, y: v0 + d },
        ];
        out.push({ ring: corners.map((q) => fromFrame(frame, q)), lengthM: len, depthM: d });
        if (spec.max && out.length >= spec.max) return out;
      }
    }
  }
  return out;
}

/** Offsets and lengths of footprints along a span: equal and centred, or varied and packed. */
function fill(span: number, length: number, gap: number, varied: boolean, rng: Random): [number, number][] {
  const out: [number, number][] = [];
  if (!varied) {
    const n = Math.floor((span + gap) / (length + gap));
    const lead = (span - (n * (length + gap) - gap)) / 2;
    for (let i = 0; i < n; i++) out.push([lead + i * (length + gap), length]);
    return out;
  }
  const shortest = 12;
  let at = 0;
  while (span - at >= shortest) {
    let len = Math.min(span - at, length * rng.range(0.7, 1.3));
    // Never leave a stub too short for a building at the end of the row: take it in, or halve what is left.
    if (span - at - len - gap < shortest) len = span - at <= 60 ? span - at : (span - at - gap) / 2;
    out.push([at, len]);
    at += len + gap;
  }
  return out;
}
