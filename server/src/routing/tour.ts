/**
 * Ordering a patrol's checkpoints (issue 14): the shortest walk from a start through every checkpoint, back to the
 * start (`closed`) or on to a fixed end. Pure: it takes the matrix of walking costs (seconds) between the points —
 * index 0 the start, the last index the end when there is one — and answers an order of the indexes.
 *
 * - Up to EXACT_MAX points besides the start: Held–Karp (dynamic programming over subsets, O(2^n n^2)), the
 *   optimum.
 * - Beyond: several starting tours (nearest neighbour, then seeded random ones), each improved by 2-opt (reverse a
 *   stretch) and Or-opt (move a run of 1–3 points elsewhere, either way round) until neither finds a gain; the
 *   best wins. pgRouting's pgr_TSP is a 2-approximation (simulated annealing in 3.x); this finds shorter tours on
 *   the same matrices (tests/bench).
 * - `randomised`: patrols should not be predictable. Among the tours the search meets that are within 10 % of the
 *   best, one is chosen by a generator seeded with the caller's seed (the plan and the date), so each day gets its
 *   own order and every order is a good one.
 * Costs need not be symmetric: every move is judged by the whole tour's cost, so a one-way leg counts as it is.
 */

/** Points besides the start up to which the order is exact (Held–Karp). */
export const EXACT_MAX = 12;

export interface TourProblem {
  /** cost[i][j]: from point i to point j; point 0 is the start */
  cost: readonly (readonly number[])[];
  /** back to the start (true), or ending at the last point (false; it must be the end) */
  closed: boolean;
}

export interface Tour {
  /** every index once, 0 first (and the last index last when the tour is open) */
  order: number[];
  cost: number;
}

/** The cost of an order (with the way back to the start when closed). */
export function tourCost(p: TourProblem, order: readonly number[]): number {
  let c = 0;
  for (let i = 1; i < order.length; i++) c += p.cost[order[i - 1]!]![order[i]!]!;
  if (p.closed && order.length > 1) c += p.cost[order[order.length - 1]!]![order[0]!]!;
  return c;
}

/** A small seeded generator (mulberry32): the same seed gives the same orders. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from a text (the plan's id and the day). */
export function seedOf(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** The indexes that move freely: all but the start, and the end when the tour is open. */
function middle(p: TourProblem): number[] {
  const n = p.cost.length;
  const last = p.closed ? n : n - 1;
  return Array.from({ length: Math.max(0, last - 1) }, (_, i) => i + 1);
}

function assemble(p: TourProblem, mid: readonly number[]): number[] {
  const n = p.cost.length;
  return p.closed || n < 2 ? [0, ...mid] : [0, ...mid, n - 1];
}

/** The optimum by Held–Karp (for a few points: 2^n states). */
export function heldKarp(p: TourProblem): Tour {
  const mid = middle(p);
  const m = mid.length;
  if (m === 0) {
    const order = assemble(p, []);
    return { order, cost: tourCost(p, order) };
  }
  const n = p.cost.length;
  const end = p.closed ? 0 : n - 1;
  const size = 1 << m;
  const dp = new Float64Array(size * m).fill(Infinity);
  const from = new Int8Array(size * m).fill(-1);
  for (let j = 0; j < m; j++) dp[(1 << j) * m + j] = p.cost[0]![mid[j]!]!;
  for (let mask = 1; mask < size; mask++) {
    for (let j = 0; j < m; j++) {
      if (!(mask & (1 << j))) continue;
      const here = dp[mask * m + j]!;
      if (here === Infinity) continue;
      for (let k = 0; k < m; k++) {
        if (mask & (1 << k)) continue;
        const next = mask | (1 << k);
        const c = here + p.cost[mid[j]!]![mid[k]!]!;
        if (c < dp[next * m + k]!) {
          dp[next * m + k] = c;
          from[next * m + k] = j;
        }
      }
    }
  }
  const full = size - 1;
  let best = Infinity, bestJ = 0;
  for (let j = 0; j < m; j++) {
    const c = dp[full * m + j]! + p.cost[mid[j]!]![end]!;
    if (c < best) { best = c; bestJ = j; }
  }
  const rev: number[] = [];
  let mask = full, j = bestJ;
  while (j >= 0) {
    rev.push(mid[j]!);
    const prev = from[mask * m + j]!;
    mask &= ~(1 << j);
    j = prev;
  }
  const order = assemble(p, rev.reverse());
  return { order, cost: tourCost(p, order) };
}

/** Nearest neighbour from the start. */
function nearestNeighbour(p: TourProblem, mid: readonly number[]): number[] {
  const left = new Set(mid);
  const out: number[] = [];
  let at = 0;
  while (left.size) {
    let best = -1, bc = Infinity;
    for (const k of left) {
      const c = p.cost[at]![k]!;
      if (c < bc) { bc = c; best = k; }
    }
    out.push(best);
    left.delete(best);
    at = best;
  }
  return out;
}

function shuffled(mid: readonly number[], rnd: () => number): number[] {
  const a = [...mid];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/**
 * Improves the free part of a tour by 2-opt and Or-opt until neither gains (first improvement). Never makes it
 * worse: a move is taken only when the whole tour's cost drops. Each move is priced in O(1): the tour's legs
 * summed forwards and backwards (prefix sums), so reversing a stretch of one-way costs is priced exactly too.
 */
export function improve(p: TourProblem, mid0: readonly number[], onTour?: (mid: number[], cost: number) => void): { mid: number[]; cost: number } {
  const c = p.cost;
  // T: the whole walk, with the start again at the end when closed; positions 1..L move, 0 and L + 1 are fixed
  const T = p.closed ? [0, ...mid0, 0] : assemble(p, mid0);
  const L = T.length - 2;
  const F = new Float64Array(T.length);
  const B = new Float64Array(T.length);
  const sums = () => {
    for (let k = 1; k < T.length; k++) {
      F[k] = F[k - 1]! + c[T[k - 1]!]![T[k]!]!;
      B[k] = B[k - 1]! + c[T[k]!]![T[k - 1]!]!;
    }
  };
  sums();
  const eps = 1e-9;
  // the free part: without the start, and without the start again (closed) or the end (open)
  const current = () => T.slice(1, -1);
  const taken = () => {
    sums();
    onTour?.(current(), F[T.length - 1]!);
  };
  let gained = L > 1;
  while (gained) {
    gained = false;
    // 2-opt: reverse T[i..j]
    for (let i = 1; i < L && !gained; i++) {
      for (let j = i + 1; j <= L && !gained; j++) {
        const a = T[i - 1]!, b = T[i]!, d = T[j]!, e = T[j + 1]!;
        const delta = c[a]![d]! + c[b]![e]! - c[a]![b]! - c[d]![e]! + (B[j]! - B[i]!) - (F[j]! - F[i]!);
        if (delta < -eps) {
          const run = T.slice(i, j + 1).reverse();
          T.splice(i, run.length, ...run);
          gained = true;
          taken();
        }
      }
    }
    // Or-opt: move T[i..i+len-1] between T[x] and T[x+1] (x outside the run), as it is or reversed
    for (let len = 1; len <= 3 && !gained; len++) {
      for (let i = 1; i + len - 1 <= L && !gained; i++) {
        const k = i + len - 1;
        const before = T[i - 1]!, first = T[i]!, last = T[k]!, after = T[k + 1]!;
        const out = c[before]![after]! - c[before]![first]! - c[last]![after]!;
        const turn = (B[k]! - B[i]!) - (F[k]! - F[i]!);
        for (let x = 0; x <= L && !gained; x++) {
          if (x >= i - 1 && x <= k) continue;
          const u = T[x]!, v = T[x + 1]!;
          const keep = out + c[u]![first]! + c[last]![v]! - c[u]![v]!;
          const flip = out + c[u]![last]! + c[first]![v]! - c[u]![v]! + turn;
          const reversed = len > 1 && flip < keep;
          if (Math.min(keep, reversed ? flip : keep) < -eps) {
            const run = T.splice(i, len);
            if (reversed) run.reverse();
            const at = x < i ? x + 1 : x + 1 - len;
            T.splice(at, 0, ...run);
            gained = true;
            taken();
          }
        }
      }
    }
  }
  return { mid: current(), cost: F[T.length - 1]! };
}

export interface SolveOptions {
  /** `randomised`: a seed (seedOf(plan + day)); without it the best tour is answered */
  seed?: number;
  /** starting tours of the heuristic (the nearest neighbour's and random ones) */
  starts?: number;
  /** use the heuristic whatever the size (tests compare it with the optimum) */
  heuristic?: boolean;
  /** `randomised`: tours within this share of the best may be chosen (0.1 = 10 %) */
  slack?: number;
}

/** The best order (exact up to EXACT_MAX points), or with `seed` one of the good ones chosen by it. */
export function solveTour(p: TourProblem, opts: SolveOptions = {}): Tour {
  const mid = middle(p);
  const rnd = seededRandom(opts.seed ?? 1);
  const seen = new Map<string, { mid: number[]; cost: number }>();
  const keep = (m: number[], cost: number) => { seen.set(m.join(','), { mid: [...m], cost }); };
  let best: { mid: number[]; cost: number };
  if (!opts.heuristic && mid.length <= EXACT_MAX) {
    const exact = heldKarp(p);
    best = { mid: p.closed ? exact.order.slice(1) : exact.order.slice(1, -1), cost: exact.cost };
  } else {
    best = improve(p, nearestNeighbour(p, mid), keep);
    keep(best.mid, best.cost);
    const starts = opts.starts ?? Math.max(8, Math.min(40, 2 * mid.length));
    for (let s = 1; s < starts; s++) {
      const r = improve(p, shuffled(mid, rnd), keep);
      keep(r.mid, r.cost);
      if (r.cost < best.cost) best = r;
    }
  }
  if (opts.seed === undefined) {
    const order = assemble(p, best.mid);
    return { order, cost: tourCost(p, order) };
  }
  // randomised: more good tours (random starts improved, and their way through), then one of those within slack
  const slack = opts.slack ?? 0.1;
  keep(best.mid, best.cost);
  for (let s = 0; s < 24; s++) {
    const r = improve(p, shuffled(mid, rnd), keep);
    keep(r.mid, r.cost);
  }
  // the best tour run backwards is as good (closed, symmetric costs) and is a different order
  if (p.closed) keep([...best.mid].reverse(), tourCost(p, assemble(p, [...best.mid].reverse())));
  const good = [...seen.values()].filter((t) => t.cost <= best.cost * (1 + slack) + 1e-9).sort((a, b) => (a.mid.join(',') < b.mid.join(',') ? -1 : 1));
  const pick = good[Math.floor(rnd() * good.length)] ?? best;
  const order = assemble(p, pick.mid);
  return { order, cost: tourCost(p, order) };
}
