import { describe, expect, it } from 'vitest';
import { area } from '@turf/turf';
import {
  arcsOf,
  deleteVertex,
  fromGrids,
  insertVertex,
  moveVertex,
  partitionReport,
  toGrids,
  vertices,
  PlanEditError,
  type PlanState,
} from './index.js';
import { pointKey } from './geometry.js';
import { codeOf, collection, featureOf, grid, gridLayout, keysOf, LAT0, LON0, rect } from './testFixtures.js';



const L = gridLayout(2, 2);
const [A, B, C, D] = L.grids.features.map((f) => f.properties.code) as [string, string, string, string];

describe('moveVertex', () => {
  it('moving a shared vertex changes both grids and leaves no gap', () => {
    let state = fromGrids(L.grids);
    const shared = arcsOf(state, A).find((a) => a.codes.includes(B))!;
    const [p, q] = [shared.coordinates[0]!, shared.coordinates[1]!];
    state = insertVertex(state, { arc: shared.arc, after: 0, at: [(p[0]! + q[0]!) / 2, (p[1]! + q[1]!) / 2] });
    const before = toGrids(state);
    const to: [number, number] = [(p[0]! + q[0]!) / 2 + 0.0004, (p[1]! + q[1]!) / 2];
    const moved = moveVertex(state, { arc: shared.arc, index: 1, to });
    for (const code of [A, B]) {
      expect(featureOf(moved, code)).not.toEqual(before.features.find((f) => f.properties.code === code));
      expect(keysOf(featureOf(moved, code))).toContain(pointKey(to));
    }
    expect(featureOf(moved, C)).toEqual(before.features.find((f) => f.properties.code === C));
    const report = partitionReport(L.community, moved);
    expect(report.gapArea).toBeLessThan(0.01);
    expect(report.overlapArea).toBeLessThan(0.01);
    expect(report.ok).toBe(true);
    // A grew by what B lost
    const gain = area(featureOf(moved, A)) - area(featureOf(state, A));
    expect(gain).toBeGreaterThan(100);
    expect(area(featureOf(state, B)) - area(featureOf(moved, B))).toBeCloseTo(gain, 3);
  });

  it('moving a node where 3 grids meet changes all 3', () => {
    // A and B on the left, one tall grid T on the right: the middle of the right border of A/B is a 3-grid node
    const x = LON0 + 0.003, y = LAT0 + 0.0025;
    const fc = collection(
      grid('A', rect(LON0, LAT0, x, y)),
      grid('B', rect(LON0, y, x, y + 0.0025)),
      grid('T', [[x, LAT0], [x + 0.003, LAT0], [x + 0.003, y + 0.0025], [x, y + 0.0025], [x, y], [x, LAT0]]),
    );
    const state = fromGrids(fc);
    const node = vertices(state).find((v) => v.node && v.codes.length === 3)!;
    expect(node.position).toEqual([x, y]);
    expect(node.arcs).toHaveLength(3);
    const moved = moveVertex(state, { arc: node.arc, index: node.index, to: [x + 0.0005, y + 0.0002] });
    for (const code of ['A', 'B', 'T']) {
      expect(featureOf(moved, code)).not.toEqual(featureOf(state, code));
      expect(keysOf(featureOf(moved, code))).toContain(pointKey([x + 0.0005, y + 0.0002]));
    }
    const community = { type: 'Polygon' as const, coordinates: [rect(LON0, LAT0, x + 0.003, y + 0.0025)] };
    expect(partitionReport(community, moved).ok).toBe(true);
  });

  it('moving the 4-way node of a 3×3 layout changes the 4 grids around it', () => {
    const state = fromGrids(gridLayout(3, 3).grids);
    const node = vertices(state).find((v) => v.node && v.codes.length === 4)!;
    const moved = moveVertex(state, { arc: node.arc, index: node.index, to: [node.position[0]! + 0.0003, node.position[1]! - 0.0002] });
    expect([...moved.changed].sort()).toEqual(node.codes);
    expect(partitionReport(gridLayout(3, 3).community, moved).ok).toBe(true);
  });

  it('refuses impossible moves with a code', () => {
    const state = fromGrids(L.grids);
    const node = vertices(state).find((v) => v.node && v.codes.length === 4)!; // the centre
    const corner = vertices(state).find((v) => v.codes.length === 1)!;
    expect(codeOf(() => moveVertex(state, { arc: node.arc, index: node.index, to: [LON0 + 0.0075, LAT0 + 0.0025] }))).toBe('EDGES_CROSS');
    expect(codeOf(() => moveVertex(state, { arc: node.arc, index: node.index, to: corner.position as [number, number] }))).toMatch(/VERTEX_COINCIDENT|EDGES_CROSS/);
    expect(codeOf(() => moveVertex(state, { arc: 999, index: 0, to: [LON0, LAT0] }))).toBe('NO_SUCH_ARC');
    expect(codeOf(() => moveVertex(state, { arc: node.arc, index: 99, to: [LON0, LAT0] }))).toBe('NO_SUCH_VERTEX');
    expect(codeOf(() => moveVertex(state, { arc: node.arc, index: node.index, to: [LON0, LAT0], from: [0, 0] }))).toBe('STALE_EDIT');
    const locked = fromGrids(L.grids, { lockBoundary: true });
    expect(codeOf(() => moveVertex(locked, { arc: corner.arc, index: corner.index, to: [LON0 - 0.001, LAT0] }))).toBe('BOUNDARY_LOCKED');
    expect(codeOf(() => moveVertex(locked, { arc: node.arc, index: node.index, to: [node.position[0]! + 1e-4, node.position[1]!] }))).toBeUndefined();
  });

  it('refuses a move that jumps over an enclave without crossing its border', () => {
    const u = 0.001; // A: [0,10]×[0,10] with enclave E at [8,9]×[4,5]; B: [10,20]×[0,10]; v = (10,5) on the A|B border
    const at = (x: number, y: number): [number, number] => [LON0 + x * u, LAT0 + y * u];
    const e = [at(8, 4), at(9, 4), at(9, 5), at(8, 5), at(8, 4)];
    const fcl = collection(
      grid('A', [at(0, 0), at(10, 0), at(10, 5), at(10, 10), at(0, 10), at(0, 0)], e.slice().reverse()),
      grid('B', [at(10, 0), at(20, 0), at(20, 10), at(10, 10), at(10, 5), at(10, 0)]),
      grid('E', e),
    );
    const state = fromGrids(fcl);
    const v = vertices(state).find((h) => h.position[0] === at(10, 5)[0] && h.position[1] === at(10, 5)[1])!;
    expect(v.node).toBe(false);
    expect(codeOf(() => moveVertex(state, { arc: v.arc, index: v.index, to: at(7, 5) }))).toBe('SWEEPS_OVER');
    expect(codeOf(() => moveVertex(state, { arc: v.arc, index: v.index, to: at(9.5, 5.5) }))).toBeUndefined();
    // deleting or inserting a vertex sweeps too
    const pts = state.topology.arcs[v.arc]!;
    const low = pts.findIndex((p) => p[1] === at(10, 0)[1]);
    const after = Math.min(low, v.index); // the segment (10,0)–(10,5)
    expect(Math.abs(low - v.index)).toBe(1);
    expect(codeOf(() => insertVertex(state, { arc: v.arc, after, at: at(6, 6) }))).toBe('SWEEPS_OVER');
    expect(codeOf(() => insertVertex(state, { arc: v.arc, after, at: at(11, 3) }))).toBeUndefined();
  });

  it('refuses to turn a ring inside out', () => {
    const tri = fromGrids(collection(grid('T', [[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.005, LAT0 + 0.01], [LON0, LAT0]])));
    const apex = vertices(tri).find((v) => v.position[1] === LAT0 + 0.01)!;
    expect(codeOf(() => moveVertex(tri, { arc: apex.arc, index: apex.index, to: [LON0 + 0.005, LAT0 - 0.01] }))).toBe('RING_FLIPPED');
  });

  it('does not change the state it was given', () => {
    const state = fromGrids(L.grids);
    const before = JSON.stringify(toGrids(state));
    const arcs = JSON.stringify(state.topology.arcs);
    const node = vertices(state).find((v) => v.node && v.codes.length === 4)!;
    moveVertex(state, { arc: node.arc, index: node.index, to: [node.position[0]! + 1e-4, node.position[1]!] });
    expect(JSON.stringify(toGrids(state))).toBe(before);
    expect(JSON.stringify(state.topology.arcs)).toBe(arcs);
  });
});

describe('insertVertex / deleteVertex', () => {
  it('insert then delete gives the same grids back', () => {
    const state = fromGrids(L.grids);
    const shared = arcsOf(state, C).find((a) => a.codes.includes(D))!;
    const p = shared.coordinates[0]!, q = shared.coordinates[1]!;
    const ins = insertVertex(state, { arc: shared.arc, after: 0, at: [(p[0]! + q[0]!) / 2 - 0.0002, (p[1]! + q[1]!) / 2] });
    expect(ins.topology.arcs[shared.arc]).toHaveLength(shared.coordinates.length + 1);
    expect([...ins.changed].sort()).toEqual([C, D]);
    const del = deleteVertex(ins, { arc: shared.arc, index: 1 });
    expect(toGrids(del)).toEqual(toGrids(state));
  });

  it('refuses to delete a node, and a vertex a ring needs', () => {
    const state = fromGrids(L.grids);
    const node = vertices(state).find((v) => v.node)!;
    expect(codeOf(() => deleteVertex(state, { arc: node.arc, index: node.index }))).toBe('NODE_NOT_DELETABLE');
    const tri = fromGrids(collection(grid('T', [[LON0, LAT0], [LON0 + 0.01, LAT0], [LON0 + 0.005, LAT0 + 0.01], [LON0, LAT0]])));
    const v = vertices(tri)[1]!;
    expect(codeOf(() => deleteVertex(tri, { arc: v.arc, index: v.index }))).toBe('RING_TOO_SMALL');
    // the start of a ring that is one arc by itself is not a node: a square loses a corner and stays a triangle
    const sq = fromGrids(collection(grid('S', rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01))));
    const start = vertices(sq).find((h) => h.index === 0)!;
    expect(start.node).toBe(false);
    const t = deleteVertex(sq, { arc: start.arc, index: 0 });
    expect(t.features[0]!.geometry.coordinates[0]).toHaveLength(4);
  });

  it('refuses an insert that would cross an edge, and one off a locked boundary', () => {
    const state = fromGrids(L.grids, { lockBoundary: true });
    const shared = arcsOf(state, A).find((a) => a.codes.includes(B))!;
    const p = shared.coordinates[0]!;
    expect(codeOf(() => insertVertex(state, { arc: shared.arc, after: 0, at: [p[0]! + 0.004, p[1]! + 0.001] }))).toBe('EDGES_CROSS');
    const outer = arcsOf(state, A).find((a) => !a.shared)!;
    const [o0, o1] = [outer.coordinates[0]!, outer.coordinates[1]!];
    const mid: [number, number] = [(o0[0]! + o1[0]!) / 2, (o0[1]! + o1[1]!) / 2];
    expect(codeOf(() => insertVertex(state, { arc: outer.arc, after: 0, at: [mid[0] - 0.0003, mid[1] - 0.0003] }))).toBe('BOUNDARY_LOCKED');
    expect(codeOf(() => insertVertex(state, { arc: outer.arc, after: 0, at: mid }))).toBeUndefined();
  });
});
