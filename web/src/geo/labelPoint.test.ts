import { describe, expect, it } from 'vitest';
import { labelPoint } from './labelPoint';

const square = (x0: number, y0: number, s: number) => [[[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s], [x0, y0]]];

function inside([x, y]: [number, number], ring: number[][]): boolean {
  let hit = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) hit = !hit;
  }
  return hit;
}

describe('labelPoint', () => {
  it('puts the label of a square at its centre', () => {
    const [x, y] = labelPoint({ type: 'Polygon', coordinates: square(121.48, 31.23, 0.01) })!;
    expect(x).toBeCloseTo(121.485, 3);
    expect(y).toBeCloseTo(31.235, 3);
  });

  it('keeps the label of an L-shaped grid inside it (the centroid is outside)', () => {
    const ring = [[0, 0], [0.01, 0], [0.01, 0.002], [0.002, 0.002], [0.002, 0.01], [0, 0.01], [0, 0]];
    const p = labelPoint({ type: 'Polygon', coordinates: [ring] })!;
    expect(inside(p, ring)).toBe(true);
  });

  it('labels the largest part of a multipolygon', () => {
    const p = labelPoint({ type: 'MultiPolygon', coordinates: [square(0, 0, 0.001), square(1, 1, 0.01)] })!;
    expect(p[0]).toBeGreaterThan(1);
  });

  it('returns null for points, empty and missing geometries', () => {
    expect(labelPoint({ type: 'Point', coordinates: [1, 2] })).toBeNull();
    expect(labelPoint({ type: 'Polygon', coordinates: [] })).toBeNull();
    expect(labelPoint(null)).toBeNull();
  });
});
