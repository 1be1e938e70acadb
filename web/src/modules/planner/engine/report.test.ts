import { describe, expect, it } from 'vitest';
import { area } from '@turf/turf';
import type { Polygon } from 'geojson';
import { arcsOf, fromGrids, midpoints, neighbours, partitionReport, vertices } from './index.js';
import { collection, grid, gridLayout, LAT0, LON0, rect } from './testFixtures.js';

const sq = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [rect(x0, y0, x1, y1)] });

describe('partitionReport', () => {
  const community = sq(LON0, LAT0, LON0 + 0.002, LAT0 + 0.001);

  it('is ok for grids that tile the community', () => {
    const L = gridLayout(3, 3, true);
    const r = partitionReport(L.community, fromGrids(L.grids));
    expect(r).toMatchObject({ ok: true, gaps: [], overlaps: [], outside: [] });
    expect(r.gapArea + r.overlapArea + r.outsideArea).toBeLessThan(1e-3);
  });

  it('measures a gap, an overlap and a piece outside in m²', () => {
    const gap = fromGrids(collection(grid('A', rect(LON0, LAT0, LON0 + 0.0009, LAT0 + 0.001)), grid('B', rect(LON0 + 0.001, LAT0, LON0 + 0.002, LAT0 + 0.001))));
    const g = partitionReport(community, gap);
    const strip = area(sq(LON0 + 0.0009, LAT0, LON0 + 0.001, LAT0 + 0.001));
    expect(g.ok).toBe(false);
    expect(g.gapArea).toBeCloseTo(strip, 0);
    expect(g.gaps).toHaveLength(1);
    expect(g.overlapArea).toBeLessThan(1e-3);

    const over = fromGrids(collection(grid('A', rect(LON0, LAT0, LON0 + 0.0011, LAT0 + 0.001)), grid('B', rect(LON0 + 0.001, LAT0, LON0 + 0.0021, LAT0 + 0.001))));
    const o = partitionReport(community, over);
    expect(o.overlapArea).toBeCloseTo(area(sq(LON0 + 0.001, LAT0, LON0 + 0.0011, LAT0 + 0.001)), 0);
    expect(o.overlaps[0]!.codes).toEqual(['A', 'B']);
    expect(o.outsideArea).toBeCloseTo(area(sq(LON0 + 0.002, LAT0, LON0 + 0.0021, LAT0 + 0.001)), 0);
    expect(o.outside.map((x) => x.code)).toEqual(['B']);
    expect(o.gapArea).toBeLessThan(1e-3);
  });
});

describe('handles for the map', () => {
  it('lists each vertex once, nodes with every grid meeting there', () => {
    const state = fromGrids(gridLayout(2, 2).grids);
    const vs = vertices(state);
    expect(vs).toHaveLength(9); // 4 outer corners, 4 border ends on the boundary, the centre
    const nodes = vs.filter((v) => v.node);
    expect(nodes).toHaveLength(5);
    expect(nodes.filter((v) => v.codes.length === 4)).toHaveLength(1);
    expect(nodes.filter((v) => v.boundary)).toHaveLength(4);
    expect(vs.filter((v) => !v.node).every((v) => v.codes.length === 1 && v.boundary)).toBe(true);
    const code = state.features[0]!.properties.code;
    expect(vertices(state, code)).toHaveLength(4);
    expect(midpoints(state, code)).toHaveLength(4);
    expect(arcsOf(state, code).filter((a) => a.shared)).toHaveLength(2);
    expect(neighbours(state, code)).toHaveLength(2);
  });
});
