import { describe, expect, it } from 'vitest';
import { arcsOf, fromGrids, gridsUsing, moveVertex, rebuildAll, timeRebuild, toGrids, vertices, PlanEditError, type GridCollection } from './index.js';
import { ringSignedArea, pointKey } from './geometry.js';
import { collection, grid, gridLayout, LAT0, LON0, rect } from './testFixtures.js';

function pointsOf(fc: GridCollection, code: string): Set<string> {
  const f = fc.features.find((x) => x.properties.code === code)!;
  const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
  return new Set(polys.flat(2).map((p) => pointKey(p)));
}

function codeOf(e: unknown): string | undefined {
  return e instanceof PlanEditError ? e.code : undefined;
}

describe('fromGrids / toGrids', () => {
  it('makes one arc of a border two grids share, and keeps every coordinate exactly', () => {
    const x = 121.41234567890123, y = 31.20987654321098;
    const fc = collection(grid('A', rect(LON0, LAT0, x, y)), grid('B', rect(x, LAT0, 121.42345678901234, y)));
    const state = fromGrids(fc);
    const shared = arcsOf(state, 'A').filter((a) => a.shared);
    expect(shared).toHaveLength(1);
    expect(shared[0]!.codes).toEqual(['A', 'B']);
    expect(arcsOf(state, 'B').filter((a) => a.shared).map((a) => a.arc)).toEqual([shared[0]!.arc]);
    const out = toGrids(state);
    for (const code of ['A', 'B']) expect(pointsOf(out, code)).toEqual(pointsOf(fc, code));
    expect((state.topology as { transform?: unknown }).transform).toBeUndefined();
  });

  it('gives closed rings, exteriors counter-clockwise and holes clockwise, whatever the input order', () => {
    const cw = rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01).reverse();
    const hole = rect(LON0 + 0.004, LAT0 + 0.004, LON0 + 0.006, LAT0 + 0.006); // counter-clockwise: wrong for a hole
    const out = toGrids(fromGrids(collection(grid('O', cw, hole), grid('E', hole.slice().reverse()))));
    const o = out.features[0]!.geometry;
    expect(o.type).toBe('Polygon');
    const rings = o.type === 'Polygon' ? o.coordinates : [];
    expect(ringSignedArea(rings[0]!)).toBeGreaterThan(0);
    expect(ringSignedArea(rings[1]!)).toBeLessThan(0);
    for (const f of out.features) for (const r of (f.geometry as { coordinates: number[][][] }).coordinates) expect(r[0]).toEqual(r[r.length - 1]);
    // the hole and the enclave are one arc
    const state = fromGrids(out);
    expect(arcsOf(state, 'E')).toHaveLength(1);
    expect(arcsOf(state, 'E')[0]!.codes).toEqual(['O', 'E']);
  });

  it('round-trips: fromGrids(toGrids(state)) gives the same grids', () => {
    const { grids } = gridLayout(3, 3, true);
    const s1 = fromGrids(grids);
    const s2 = fromGrids(toGrids(s1));
    expect(toGrids(s2)).toEqual(toGrids(s1));
    expect(s2.topology).toEqual(s1.topology);
  });

  it('snaps a T-junction so the border is still one shared arc', () => {
    const mid = LAT0 + 0.005;
    const a = grid('A', [[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.01, mid], [LON0 + 0.01, LAT0 + 0.01], [LON0, LAT0 + 0.01], [LON0, LAT0]]);
    const b = grid('B', rect(LON0 + 0.01, LAT0, LON0 + 0.02, LAT0 + 0.01));
    const state = fromGrids(collection(a, b));
    const shared = arcsOf(state, 'A').filter((x) => x.shared);
    expect(shared).toHaveLength(1);
    expect(shared[0]!.coordinates.map(pointKey)).toContain(pointKey([LON0 + 0.01, mid]));
    // with snapping off, the borders stay apart
    const exact = fromGrids(collection(a, b), { tolerance: 0 });
    expect(arcsOf(exact, 'A').filter((x) => x.shared)).toHaveLength(0);
  });

  it('splits a pinched ring so the triangle it closes around shares its border', () => {
    const u = 0.001, at = (x: number, y: number): [number, number] => [LON0 + x * u, LAT0 + y * u];
    // O's ring runs around the triangle T and passes twice through (5,10), instead of having a hole
    const fcl = collection(
      grid('O', [at(0, 0), at(10, 0), at(10, 10), at(5, 10), at(6, 8), at(4, 8), at(5, 10), at(0, 10), at(0, 0)]),
      grid('T', [at(5, 10), at(4, 8), at(6, 8), at(5, 10)]),
    );
    const state = fromGrids(fcl);
    const o = state.features[0]!.geometry;
    expect(o.type).toBe('Polygon');
    expect(o.coordinates).toHaveLength(2); // exterior + a hole touching it at (5,10)
    expect(arcsOf(state, 'T').every((a) => a.codes.join() === 'O,T')).toBe(true);
  });

  it('refuses bad input with a code', () => {
    const bad = [
      { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 'A', name: 'A' }, geometry: { type: 'Point', coordinates: [0, 0] } }] },
      collection(grid('A', [[LON0, LAT0], [LON0 + 1e-3, LAT0], [LON0, LAT0]])),
      { type: 'FeatureCollection', features: [{ type: 'Feature', properties: { code: 1, name: 'A' }, geometry: { type: 'Polygon', coordinates: [rect(0, 0, 1, 1)] } }] },
    ];
    for (const fc of bad) {
      let err: unknown;
      try { fromGrids(fc as GridCollection); } catch (e) { err = e; }
      expect(codeOf(err)).toBe('INVALID_INPUT');
    }
    let dup: unknown;
    try { fromGrids(collection(grid('A', rect(0, 0, 1, 1)), grid('A', rect(1, 0, 2, 1)))); } catch (e) { dup = e; }
    expect(codeOf(dup)).toBe('DUPLICATE_CODE');
  });
});

describe('rebuilding only what an edit touches', () => {
  it('a vertex edit rebuilds the grids of the touched arcs and shares the other polygons', () => {
    const state = fromGrids(gridLayout(3, 3, true).grids);
    const v = vertices(state).find((h) => !h.node && h.shared)!;
    const next = moveVertex(state, { arc: v.arc, index: v.index, to: [v.position[0]! + 1e-5, v.position[1]!] });
    const touched = new Set(v.codes);
    next.features.forEach((f, i) => {
      if (touched.has(f.properties.code)) expect(f).not.toBe(state.features[i]);
      else expect(f).toBe(state.features[i]);
    });
    expect([...next.changed].sort()).toEqual([...v.codes].sort());
    // and the incremental result equals a full rebuild
    expect(rebuildAll(next).features).toEqual(next.features);
    expect(gridsUsing(next, [v.arc])).toHaveLength(2);
  });

  it('has a timing helper for the benchmark', () => {
    const state = fromGrids(gridLayout(3, 3).grids);
    const t = timeRebuild(state, [arcsOf(state, state.features[4]!.properties.code)[0]!.arc], 3);
    expect(t.grids).toBe(9);
    expect(t.touchedGrids).toBeLessThanOrEqual(2);
    expect(t.touchedMs).toBeGreaterThanOrEqual(0);
    expect(t.fullMs).toBeGreaterThanOrEqual(0);
  });
});
