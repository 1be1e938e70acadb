/**
 * Ordering checkpoints (issue 14, server/src/routing/tour.ts), on random cases (fast-check): an order is a
 * permutation with the start first (and the end last when open); Held–Karp equals brute force up to 8 points;
 * 2-opt + Or-opt never make a tour worse; the heuristic, forced on small cases, stays within 2 % of the optimum;
 * randomised orders differ across days and stay within 10 % of the best.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { heldKarp, improve, seedOf, solveTour, tourCost, type TourProblem } from '../../server/src/routing/tour.js';

/** Points in a 1 km square; walking cost = straight distance (metres), or with detours when `asymmetric`. */
const pointsArb = (min: number, max: number) =>
  fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1000 })), { minLength: min, maxLength: max });

function problem(points: [number, number][], closed: boolean, asymmetric = false): TourProblem {
  const cost = points.map((a, i) => points.map((b, j) => (i === j ? 0 : Math.hypot(a[0] - b[0], a[1] - b[1]) * (asymmetric && i < j ? 1.3 : 1))));
  return { cost, closed };
}

function permutations(xs: number[]): number[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((rest) => [x, ...rest]));
}

/** The optimum by trying every order. */
function bruteForce(p: TourProblem): number {
  const n = p.cost.length;
  const free = Array.from({ length: p.closed ? n - 1 : Math.max(0, n - 2) }, (_, i) => i + 1);
  let best = Infinity;
  for (const m of permutations(free)) best = Math.min(best, tourCost(p, p.closed || n < 2 ? [0, ...m] : [0, ...m, n - 1]));
  return best;
}

function isTour(p: TourProblem, order: number[]): boolean {
  const n = p.cost.length;
  return order.length === n && new Set(order).size === n && order[0] === 0 && (p.closed || n < 2 || order[n - 1] === n - 1)
    && order.every((i) => Number.isInteger(i) && i >= 0 && i < n);
}

describe('tour', () => {
  it('Held–Karp equals brute force up to 8 points (closed and open, symmetric or not)', () => {
    fc.assert(fc.property(pointsArb(1, 8), fc.boolean(), fc.boolean(), (pts, closed, asym) => {
      const p = problem(pts as [number, number][], closed, asym);
      const t = heldKarp(p);
      expect(isTour(p, t.order)).toBe(true);
      expect(t.cost).toBeCloseTo(bruteForce(p), 6);
    }), { numRuns: 150 });
  });

  it('every answer is a permutation with the start first and the end last', () => {
    fc.assert(fc.property(pointsArb(1, 40), fc.boolean(), fc.option(fc.integer({ min: 0, max: 2 ** 31 })), (pts, closed, seed) => {
      const p = problem(pts as [number, number][], closed);
      const t = solveTour(p, { seed: seed ?? undefined, starts: 4 });
      expect(isTour(p, t.order)).toBe(true);
      expect(t.cost).toBeCloseTo(tourCost(p, t.order), 6);
    }), { numRuns: 60 });
  });

  it('2-opt and Or-opt never make a tour worse', () => {
    fc.assert(fc.property(pointsArb(3, 30), fc.boolean(), fc.integer(), (pts, closed, s) => {
      const p = problem(pts as [number, number][], closed, s % 2 === 0);
      const n = p.cost.length;
      const mid = Array.from({ length: closed ? n - 1 : n - 2 }, (_, i) => i + 1).sort(() => (s = (s * 1103515245 + 12345) | 0) & 1 ? 1 : -1);
      const before = tourCost(p, closed ? [0, ...mid] : [0, ...mid, n - 1]);
      const costs: number[] = [];
      const r = improve(p, mid, (_m, c) => costs.push(c));
      expect(r.cost).toBeLessThanOrEqual(before + 1e-9);
      expect(r.cost).toBeCloseTo(tourCost(p, closed ? [0, ...r.mid] : [0, ...r.mid, n - 1]), 6);
      expect([...r.mid].sort((x, y) => x - y)).toEqual([...mid].sort((x, y) => x - y));
      // each step it took was a gain
      for (let i = 1; i < costs.length; i++) expect(costs[i]!).toBeLessThan(costs[i - 1]!);
    }), { numRuns: 80 });
  });

  it('the heuristic, forced on small cases, stays within 2 % of the optimum', () => {
    let worst = 0;
    fc.assert(fc.property(pointsArb(4, 11), fc.boolean(), (pts, closed) => {
      const p = problem(pts as [number, number][], closed);
      const opt = heldKarp(p).cost;
      const h = solveTour(p, { heuristic: true });
      if (opt > 0) worst = Math.max(worst, h.cost / opt - 1);
      expect(h.cost).toBeLessThanOrEqual(opt * 1.02 + 1e-6);
    }), { numRuns: 120 });
    console.log(`[tour] heuristic vs Held–Karp: worst ${(worst * 100).toFixed(2)} % over 120 random cases`);
  });

  it('randomised: a different order on different days, each within 10 % of the best', () => {
    fc.assert(fc.property(pointsArb(8, 20), (pts) => {
      const p = problem(pts as [number, number][], true);
      const best = solveTour(p).cost;
      const orders = new Set<string>();
      for (const day of ['2026-12-01', '2026-12-02', '2026-12-03', '2026-12-04', '2026-12-05', '2026-12-06', '2026-12-07']) {
        const t = solveTour(p, { seed: seedOf(`plan-1/${day}`) });
        expect(t.cost).toBeLessThanOrEqual(best * 1.1 + 1e-6);
        orders.add(t.order.join(','));
      }
      // distinct points: a week has more than one order
      if (new Set(pts.map((x) => x.join(','))).size === pts.length) expect(orders.size).toBeGreaterThan(1);
      // the same plan and day: the same order
      expect(solveTour(p, { seed: seedOf('plan-1/2026-12-01') }).order).toEqual(solveTour(p, { seed: seedOf('plan-1/2026-12-01') }).order);
    }), { numRuns: 25 });
  });
});
