/**
 * The in-process road graph and its bounded Dijkstra against independent computations on random
 * graphs (fast-check): Floyd–Warshall for the distances, the tree's paths re-summed edge by edge,
 * and ngraph.path's A* on the same ngraph graph for single pairs.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { buildRoadGraph } from '../../server/src/routing/graph.js';
import type { EdgeRow } from '../../server/src/routing/routing.repository.js';
import { boundedDijkstra, edgeSlice, pathTo } from '../../server/src/routing/search.js';
import { aStarSeconds } from '../support/astar.js';

const speeds = { speedsKmh: { primary: 36, footway: 3.6 }, defaultKmh: 18 };
const speedOf = (c: string) => (c === 'primary' ? 10 : c === 'footway' ? 1 : 5); // m/s

const arbGraph = fc.integer({ min: 2, max: 25 }).chain((n) =>
  fc.record({
    n: fc.constant(n),
    edges: fc.array(
      fc.record({
        a: fc.integer({ min: 1, max: n }),
        b: fc.integer({ min: 1, max: n }),
        len: fc.integer({ min: 0, max: 1000 }),
        cls: fc.constantFrom('primary', 'footway', 'residential'),
      }),
      { maxLength: 60 },
    ),
    source: fc.integer({ min: 1, max: n }),
  }),
);

function build(n: number, edges: { a: number; b: number; len: number; cls: string }[]) {
  // All nodes at one place: edge lengths are arbitrary here, so A*'s straight-line heuristic must be 0 to stay admissible.
  const nodes = Array.from({ length: n }, (_, i) => ({ id: i + 1, lon: 121, lat: 31 }));
  const rows: EdgeRow[] = edges.map((e, i) => ({
    id: 1000 + i, source: e.a, target: e.b, lengthM: e.len, roadClass: e.cls,
    coords: [nodes[e.a - 1].lon, nodes[e.a - 1].lat, nodes[e.b - 1].lon, nodes[e.b - 1].lat],
  }));
  return buildRoadGraph(nodes, rows, speeds, { version: 1, key: '1:1' });
}

/** All-pairs travel seconds, two-way edges (Floyd–Warshall). */
function floyd(n: number, edges: { a: number; b: number; len: number; cls: string }[]): number[][] {
  const d = Array.from({ length: n + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === j ? 0 : Infinity)));
  for (const e of edges) {
    const s = e.len / speedOf(e.cls);
    if (s < d[e.a][e.b]) d[e.a][e.b] = d[e.b][e.a] = s;
  }
  for (let k = 1; k <= n; k++) for (let i = 1; i <= n; i++) for (let j = 1; j <= n; j++) if (d[i][k] + d[k][j] < d[i][j]) d[i][j] = d[i][k] + d[k][j];
  return d;
}

describe('road graph search', () => {
  test('property: unbounded Dijkstra equals Floyd–Warshall; tree paths re-sum to the same times', () => {
    fc.assert(
      fc.property(arbGraph, ({ n, edges, source }) => {
        const g = build(n, edges);
        const all = Array.from({ length: n }, (_, i) => i + 1);
        const r = boundedDijkstra(g, [{ node: source, seconds: 0, metres: 0 }], all);
        const d = floyd(n, edges);
        for (const v of all) {
          if (d[source][v] === Infinity) expect(r.seconds(v)).toBe(Infinity);
          else {
            expect(r.seconds(v)).toBeCloseTo(d[source][v], 6);
            const path = pathTo(g, r, v);
            const sum = path.reduce((s, p) => s + g.edgeSeconds[p.edge], 0);
            const metres = path.reduce((s, p) => s + g.edgeMetres[p.edge], 0);
            expect(sum).toBeCloseTo(r.seconds(v), 6);
            expect(metres).toBeCloseTo(r.metres(v), 6);
            // The path is connected, from the source to v.
            let at = source;
            for (const p of path) {
              expect(p.forward ? g.edgeSource[p.edge] : g.edgeTarget[p.edge]).toBe(at);
              at = p.forward ? g.edgeTarget[p.edge] : g.edgeSource[p.edge];
            }
            expect(at).toBe(v);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test('property: the search stops early once its targets are settled, with exact answers for them; the bound cuts off farther nodes', () => {
    fc.assert(
      fc.property(arbGraph, fc.integer({ min: 1, max: 25 }), fc.integer({ min: 0, max: 500 }), ({ n, edges, source }, t0, bound) => {
        const target = Math.min(t0, n);
        const g = build(n, edges);
        const d = floyd(n, edges);
        const r = boundedDijkstra(g, [{ node: source, seconds: 0, metres: 0 }], [target]);
        if (d[source][target] < Infinity) expect(r.seconds(target)).toBeCloseTo(d[source][target], 6);
        // Nothing farther than the target was settled.
        for (let v = 1; v <= n; v++) if (r.settled(v)) expect(d[source][v]).toBeLessThanOrEqual(d[source][target] + 1e-9);
        const all = Array.from({ length: n }, (_, i) => i + 1);
        const b = boundedDijkstra(g, [{ node: source, seconds: 0, metres: 0 }], all, bound);
        for (const v of all) {
          if (d[source][v] <= bound) expect(b.seconds(v)).toBeCloseTo(d[source][v], 6);
          else expect(b.seconds(v)).toBe(Infinity);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('property: several sources with start costs equal the minimum over sources; A* of ngraph.path agrees on pairs', () => {
    fc.assert(
      fc.property(arbGraph, fc.integer({ min: 0, max: 300 }), ({ n, edges, source }, offset) => {
        const g = build(n, edges);
        const d = floyd(n, edges);
        const other = (source % n) + 1;
        const r = boundedDijkstra(g, [{ node: source, seconds: 0, metres: 0 }, { node: other, seconds: offset, metres: 0 }], Array.from({ length: n }, (_, i) => i + 1));
        const astar = aStarSeconds(g);
        for (let v = 1; v <= n; v++) {
          const want = Math.min(d[source][v], offset + d[other][v]);
          if (want === Infinity) expect(r.seconds(v)).toBe(Infinity);
          else expect(r.seconds(v)).toBeCloseTo(want, 6);
          const s = astar(source, v);
          if (d[source][v] === Infinity) expect(s).toBe(Infinity);
          else expect(s).toBeCloseTo(d[source][v], 6);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('edgeSlice cuts an edge at fractions, in either direction', () => {
    const g = buildRoadGraph(
      [{ id: 1, lon: 0, lat: 0 }, { id: 2, lon: 2, lat: 0 }],
      [{ id: 7, source: 1, target: 2, lengthM: 200, roadClass: 'x', coords: [0, 0, 1, 0, 1, 1, 2, 1, 2, 0] }],
      speeds, { version: 1, key: '1:1' },
    );
    // Planar length 4: fraction 0.5 is the point (1, 1).
    expect(edgeSlice(g, 0, 0, 0.5)).toEqual([[0, 0], [1, 0], [1, 1]]);
    expect(edgeSlice(g, 0, 0.5, 0)).toEqual([[1, 1], [1, 0], [0, 0]]);
    expect(edgeSlice(g, 0, 0.125, 0.625)).toEqual([[0.5, 0], [1, 0], [1, 1], [1.5, 1]]);
    expect(g.edgeSeconds[0]).toBeCloseTo(200 / 5, 9); // class not listed: defaultKmh
  });
});
