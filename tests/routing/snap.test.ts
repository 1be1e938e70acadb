/**
 * Snapping onto the in-memory graph (cell index, rings outward) against a brute-force scan of every
 * segment of every edge, on random networks (fast-check); the partial lengths add up to the edge.
 */
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { buildRoadGraph } from '../../server/src/routing/graph.js';
import type { EdgeRow } from '../../server/src/routing/routing.repository.js';
import { snapToGraph } from '../../server/src/routing/snap.js';

const speeds = { speedsKmh: {}, defaultKmh: 20 };
const LON = 121.48;
const LAT = 31.23;
const KX = Math.cos((LAT * Math.PI) / 180) * 6_371_008.8 * (Math.PI / 180);
const KY = 6_371_008.8 * (Math.PI / 180);

/** Distance in metres from (lon, lat) to the segment a–b, in a plane scaled at the point's latitude. */
function segDistance(lon: number, lat: number, a: number[], b: number[]): number {
  const kx = Math.cos((lat * Math.PI) / 180) * KY;
  const ax = (a[0] - lon) * kx, ay = (a[1] - lat) * KY, bx = (b[0] - lon) * kx, by = (b[1] - lat) * KY;
  const dx = bx - ax, dy = by - ay;
  const l2 = dx * dx + dy * dy;
  const t = l2 === 0 ? 0 : Math.max(0, Math.min(1, -(ax * dx + ay * dy) / l2));
  return Math.hypot(ax + t * dx, ay + t * dy);
}

const arbPoint = fc.tuple(fc.integer({ min: -3000, max: 3000 }), fc.integer({ min: -3000, max: 3000 }))
  .map(([x, y]) => [LON + x / KX, LAT + y / KY]);

describe('snapToGraph', () => {
  test('property: the nearest edge within the limit, as a scan of every segment finds it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(arbPoint, { minLength: 2, maxLength: 5 }), { minLength: 1, maxLength: 40 }),
        fc.array(arbPoint, { minLength: 1, maxLength: 10 }),
        fc.integer({ min: 10, max: 600 }),
        (lines, points, maxM) => {
          const nodes: { id: number; lon: number; lat: number }[] = [];
          const edges: EdgeRow[] = lines.map((pts, i) => {
            nodes.push({ id: 2 * i + 1, lon: pts[0][0], lat: pts[0][1] }, { id: 2 * i + 2, lon: pts[pts.length - 1][0], lat: pts[pts.length - 1][1] });
            return { id: 100 + i, source: 2 * i + 1, target: 2 * i + 2, lengthM: 1000 + i, roadClass: 'x', coords: pts.flat() };
          });
          const g = buildRoadGraph(nodes, edges, speeds, { version: 1, key: '1:1' });
          for (const [lon, lat] of points) {
            let best = Infinity;
            for (const pts of lines) for (let i = 1; i < pts.length; i++) best = Math.min(best, segDistance(lon, lat, pts[i - 1], pts[i]));
            const s = snapToGraph(g, lon, lat, maxM);
            if (best > maxM + 1e-6) {
              expect(s).toBeUndefined();
              continue;
            }
            expect(s).toBeDefined();
            expect(s!.snapM).toBeCloseTo(best, 6);
            const pts = lines[s!.edge];
            let own = Infinity;
            for (let i = 1; i < pts.length; i++) own = Math.min(own, segDistance(lon, lat, pts[i - 1], pts[i]));
            expect(own).toBeCloseTo(best, 6);
            expect(s!.partialM).toBeGreaterThanOrEqual(0);
            expect(s!.partialM).toBeLessThanOrEqual(g.edgeMetres[s!.edge] + 1e-9);
            expect(s!.frac).toBeGreaterThanOrEqual(0);
            expect(s!.frac).toBeLessThanOrEqual(1);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a point on a straight edge: the partial length is its share of length_m', () => {
    const a = [LON, LAT];
    const b = [LON + 1000 / KX, LAT];
    const g = buildRoadGraph(
      [{ id: 1, lon: a[0], lat: a[1] }, { id: 2, lon: b[0], lat: b[1] }],
      [{ id: 1, source: 1, target: 2, lengthM: 1002, roadClass: 'x', coords: [] }],
      speeds, { version: 1, key: '1:1' },
    );
    const s = snapToGraph(g, LON + 250 / KX, LAT + 30 / KY, 300)!;
    expect(s.edge).toBe(0);
    expect(s.snapM).toBeCloseTo(30, 3);
    expect(s.partialM).toBeCloseTo(250.5, 3);
    expect(s.frac).toBeCloseTo(0.25, 6);
    expect(snapToGraph(g, LON + 250 / KX, LAT + 301 / KY, 300)).toBeUndefined();
  });
});
