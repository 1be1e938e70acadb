import { describe, expect, it } from 'vitest';
import { area, featureCollection, union } from '@turf/turf';
import type { Polygon } from 'geojson';
import {
  arcsOf,
  fromGrids,
  mergeGrids,
  moveBlock,
  neighbours,
  partitionReport,
  recode,
  rename,
  setGrids,
  splitGrid,
  undo,
  commit,
  emptyHistory,
  toGrids,
  vertices,
  PlanEditError,
  type PlanState,
} from './index.js';
import { pointKey } from './geometry.js';
import { codeOf, collection, featureOf, grid, gridLayout, keysOf, LAT0, LON0, rect } from './testFixtures.js';



const DX = 0.003, DY = 0.0025;
const L = gridLayout(2, 2);
const [A, B, C, D] = L.grids.features.map((f) => f.properties.code) as [string, string, string, string];

describe('splitGrid', () => {
  it('gives two grids whose union is the original and whose shared border is one arc', () => {
    const state = fromGrids(L.grids);
    const x = LON0 + DX * 0.4;
    // a line going north across A: the west part (left of the line) keeps the code
    const split = splitGrid(state, { code: A, line: [[x, LAT0 - 0.001], [x + 0.0003, LAT0 + DY * 0.5], [x, LAT0 + DY + 0.0005]], newCode: `${A}x`, newName: '新网格' });
    expect(split.features).toHaveLength(5);
    const west = featureOf(split, A), east = featureOf(split, `${A}x`);
    expect(east.properties.name).toBe('新网格');
    expect(keysOf(west)).toContain(pointKey([LON0, LAT0]));
    expect(keysOf(east)).toContain(pointKey([LON0 + DX, LAT0]));
    const original = featureOf(state, A);
    expect(area(west) + area(east)).toBeCloseTo(area(original), 4);
    const u = union(featureCollection([west, east]))!;
    expect(Math.abs(area(u) - area(original))).toBeLessThan(0.01);
    const shared = arcsOf(split, A).filter((a) => a.codes.includes(`${A}x`));
    expect(shared).toHaveLength(1);
    expect(shared[0]!.coordinates).toHaveLength(3);
    // the neighbour above got the new node: its border with A is now two arcs, one with each part
    expect(neighbours(split, C)).toEqual(expect.arrayContaining([A, `${A}x`]));
    const crossing = shared[0]!.coordinates.find((p) => Math.abs(p[1]! - (LAT0 + DY)) < 1e-12)!;
    expect(keysOf(featureOf(split, C))).toContain(pointKey(crossing));
    expect(vertices(split).find((v) => pointKey(v.position) === pointKey(crossing))!.codes.sort()).toEqual([A, `${A}x`, C].sort());
    expect(partitionReport(L.community, split).ok).toBe(true);
    expect([...split.changed].sort()).toEqual([A, `${A}x`, C].sort());
  });

  it('splits along existing vertices and through a node', () => {
    const state = fromGrids(L.grids);
    // the line from the bottom-left corner to the centre node cuts A along its diagonal
    const split = splitGrid(state, { code: A, line: [[LON0 - 0.001, LAT0 - 0.001 * (DY / DX)], [LON0 + DX + 0.001, LAT0 + DY + 0.001 * (DY / DX)]], newCode: 'N', newName: 'N' });
    const a = featureOf(split, A), n = featureOf(split, 'N');
    expect(a.geometry.coordinates[0]).toHaveLength(4);
    expect(n.geometry.coordinates[0]).toHaveLength(4);
    expect(area(a) + area(n)).toBeCloseTo(area(featureOf(state, A)), 4);
    expect(partitionReport(L.community, split).ok).toBe(true);
  });

  it('keeps a hole when the line passes beside it, and splits through an enclave ring', () => {
    const outer = rect(LON0, LAT0, LON0 + 0.01, LAT0 + 0.01), hole = rect(LON0 + 0.006, LAT0 + 0.004, LON0 + 0.008, LAT0 + 0.006);
    const state = fromGrids(collection(grid('O', outer, hole.slice().reverse()), grid('E', hole)));
    const community: Polygon = { type: 'Polygon', coordinates: [outer] };
    const beside = splitGrid(state, { code: 'O', line: [[LON0 + 0.003, LAT0 - 0.001], [LON0 + 0.003, LAT0 + 0.011]], newCode: 'P', newName: 'P' });
    expect(featureOf(beside, 'O').geometry.coordinates).toHaveLength(1); // west part: no hole
    expect(featureOf(beside, 'P').geometry.coordinates).toHaveLength(2); // east part keeps the hole
    expect(partitionReport(community, beside).ok).toBe(true);
    const through = splitGrid(state, { code: 'O', line: [[LON0 + 0.007, LAT0 - 0.001], [LON0 + 0.007, LAT0 + 0.011]], newCode: 'P', newName: 'P' });
    expect(featureOf(through, 'O').geometry.coordinates).toHaveLength(1);
    expect(featureOf(through, 'P').geometry.coordinates).toHaveLength(1);
    expect(neighbours(through, 'E').sort()).toEqual(['O', 'P']);
    expect(partitionReport(community, through).ok).toBe(true);
  });

  it('splits along a line whose ends lie on the border (as a snapping UI draws it)', () => {
    const state = fromGrids(L.grids);
    const x = LON0 + 0.001;
    const split = splitGrid(state, { code: A, line: [[x, LAT0], [x, LAT0 + DY]], newCode: 'N', newName: 'N' });
    expect(area(featureOf(split, A)) + area(featureOf(split, 'N'))).toBeCloseTo(area(featureOf(state, A)), 4);
    expect(keysOf(featureOf(split, C))).toContain(pointKey([x, LAT0 + DY]));
    expect(arcsOf(split, A).filter((a) => a.codes.includes('N'))).toHaveLength(1);
    expect(partitionReport(L.community, split).ok).toBe(true);
  });

  it('refuses impossible splits with a code', () => {
    const state = fromGrids(L.grids);
    const mid: [number, number] = [LON0 + DX / 2, LAT0 + DY / 2];
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 - 0.001, mid[1]], mid], newCode: 'N', newName: 'N' }))).toBe('LINE_NOT_ACROSS');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 + 0.1, LAT0], [LON0 + 0.2, LAT0]], newCode: 'N', newName: 'N' }))).toBe('LINE_NOT_ACROSS');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 + 0.001, LAT0 - 0.001], [LON0 + 0.001, LAT0 + 0.003], [LON0 + 0.002, LAT0 + 0.003], [LON0 + 0.002, LAT0 - 0.001]], newCode: 'N', newName: 'N' }))).toBe('LINE_SPLITS_MANY');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 - 0.001, LAT0 + 0.001], [LON0 + 0.004, LAT0 + 0.001], [LON0 + 0.002, LAT0 - 0.001], [LON0 + 0.002, LAT0 + 0.003]], newCode: 'N', newName: 'N' }))).toBe('LINE_SELF_INTERSECTS');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 + 0.001, LAT0 - 0.001], [LON0 + 0.001, LAT0 + 0.003]], newCode: B, newName: 'N' }))).toBe('CODE_TAKEN');
    expect(codeOf(() => splitGrid(state, { code: 'nope', line: [[LON0 + 0.001, LAT0 - 0.001], [LON0 + 0.001, LAT0 + 0.003]], newCode: 'N', newName: 'N' }))).toBe('NO_SUCH_GRID');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0, LAT0]], newCode: 'N', newName: 'N' }))).toBe('BAD_LINE');
    expect(codeOf(() => splitGrid(state, { code: A, line: [[LON0 + 0.001, LAT0 - 0.001], [LON0 + 0.001, LAT0 + 0.003]], newCode: 'N', newName: ' ' }))).toBe('BAD_NAME');
  });
});

describe('mergeGrids', () => {
  it('gives one grid whose area is the sum', () => {
    const state = fromGrids(L.grids);
    const merged = mergeGrids(state, { codes: [A, B], code: A });
    expect(merged.features).toHaveLength(3);
    expect(merged.removed).toEqual([B]);
    const m = featureOf(merged, A);
    expect(m.geometry.type).toBe('Polygon');
    expect(area(m)).toBeCloseTo(area(featureOf(state, A)) + area(featureOf(state, B)), 4);
    expect(m.properties.name).toBe(featureOf(state, A).properties.name);
    expect(partitionReport(L.community, merged).ok).toBe(true);
    // the merged grid shares one arc with each of C and D (the old node in the middle is now inside an arc)
    expect(neighbours(merged, A).sort()).toEqual([C, D].sort());
    const renamed = mergeGrids(state, { codes: [A, B], code: 'M', name: '合并' });
    expect(featureOf(renamed, 'M').properties.name).toBe('合并');
  });

  it('refuses grids that share no border, and more', () => {
    const state = fromGrids(L.grids);
    expect(codeOf(() => mergeGrids(state, { codes: [A, D], code: A }))).toBe('NOT_NEIGHBOURS'); // diagonal: they meet at a point
    expect(codeOf(() => mergeGrids(state, { codes: [A, A], code: A }))).toBe('SAME_GRID');
    expect(codeOf(() => mergeGrids(state, { codes: [A, B], code: C }))).toBe('CODE_TAKEN');
    expect(codeOf(() => mergeGrids(state, { codes: [A, 'x'], code: A }))).toBe('NO_SUCH_GRID');
  });
});

describe('moveBlock', () => {
  it('moves the part of a piece inside one grid to its neighbour', () => {
    const state = fromGrids(L.grids);
    const x = LON0 + DX, y = LAT0 + DY * 0.4;
    const piece: Polygon = { type: 'Polygon', coordinates: [rect(x - 0.0008, y - 0.0005, x + 0.0004, y + 0.0005)] };
    const moved = moveBlock(state, { from: A, to: B, piece });
    const taken = 0.0008 / DX; // the share of A's width in the piece
    const areaA = area(featureOf(state, A));
    expect(area(featureOf(moved, A))).toBeCloseTo(areaA * (1 - taken * 0.4), 0);
    expect(area(featureOf(moved, B)) - area(featureOf(state, B))).toBeCloseTo(area(featureOf(state, A)) - area(featureOf(moved, A)), 3);
    expect(featureOf(moved, B).geometry.type).toBe('Polygon');
    expect(partitionReport(L.community, moved).ok).toBe(true);
    expect(featureOf(moved, C)).toEqual(featureOf(state, C));
  });

  it('takes a piece whose edge runs along the border and whose corners sit on it', () => {
    const state = fromGrids(L.grids);
    const piece: Polygon = { type: 'Polygon', coordinates: [rect(LON0 + DX / 2, LAT0, LON0 + DX, LAT0 + DY / 2)] };
    const moved = moveBlock(state, { from: A, to: B, piece });
    expect(area(featureOf(moved, A))).toBeCloseTo(area(featureOf(state, A)) * 0.75, 0);
    expect(featureOf(moved, B).geometry.type).toBe('Polygon');
    expect(partitionReport(L.community, moved).ok).toBe(true);
    // the old A|B border below the piece's top is gone: A and B now share the new border only
    expect(vertices(moved).filter((v) => v.codes.includes(A) && v.codes.includes(B)).length).toBeGreaterThan(0);
  });

  it('refuses pieces that take nothing, everything, or a part away from the neighbour', () => {
    const state = fromGrids(L.grids);
    const sq = (x0: number, y0: number, x1: number, y1: number): Polygon => ({ type: 'Polygon', coordinates: [rect(x0, y0, x1, y1)] });
    expect(codeOf(() => moveBlock(state, { from: A, to: B, piece: sq(LON0 + 0.004, LAT0 + 0.0005, LON0 + 0.005, LAT0 + 0.001) }))).toBe('PIECE_EMPTY');
    expect(codeOf(() => moveBlock(state, { from: A, to: B, piece: sq(LON0 - 0.001, LAT0 - 0.001, LON0 + DX + 0.0001, LAT0 + DY + 0.0001) }))).toBe('PIECE_COVERS_GRID');
    expect(codeOf(() => moveBlock(state, { from: A, to: B, piece: sq(LON0 + 0.0005, LAT0 + 0.0005, LON0 + 0.001, LAT0 + 0.001) }))).toBe('PIECE_NOT_ADJACENT');
    expect(codeOf(() => moveBlock(state, { from: A, to: A, piece: sq(LON0, LAT0, LON0 + 0.001, LAT0 + 0.001) }))).toBe('SAME_GRID');
    const bow: Polygon = { type: 'Polygon', coordinates: [[[LON0, LAT0], [LON0 + 0.004, LAT0 + 0.001], [LON0 + 0.004, LAT0], [LON0, LAT0 + 0.001], [LON0, LAT0]]] };
    expect(codeOf(() => moveBlock(state, { from: A, to: B, piece: bow }))).toBe('BAD_PIECE');
  });
});

describe('rename / recode', () => {
  it('change properties only', () => {
    const state = fromGrids(L.grids);
    const r = rename(state, { code: A, name: '东区' });
    expect(featureOf(r, A).properties.name).toBe('东区');
    expect(r.topology.arcs).toBe(state.topology.arcs);
    const c = recode(r, { code: A, newCode: 'Z' });
    expect(featureOf(c, 'Z').geometry).toEqual(featureOf(state, A).geometry);
    expect(c.indexByCode.has(A)).toBe(false);
    expect(arcsOf(c, 'Z').some((a) => a.codes.includes('Z'))).toBe(true);
    expect(codeOf(() => recode(state, { code: A, newCode: B }))).toBe('CODE_TAKEN');
    expect(codeOf(() => rename(state, { code: A, name: '' }))).toBe('BAD_NAME');
  });
});

describe('setGrids', () => {
  it('replaces a grid whole; a border that follows the neighbour is shared again; undo restores it', () => {
    const state = fromGrids(L.grids);
    const a = featureOf(state, A);
    // A redrawn as its own rectangle (the same border with B and C, given anew, point for point)
    const redrawn = grid(A, rect(LON0, LAT0, LON0 + DX, LAT0 + DY));
    const step = commit(emptyHistory, state, { kind: 'setGrids', grids: [{ ...redrawn, properties: { code: A, name: '重绘' } }] });
    expect(featureOf(step.state, A).properties.name).toBe('重绘');
    expect(area(featureOf(step.state, A))).toBeCloseTo(area(a), 6);
    expect(neighbours(step.state, A).sort()).toEqual(neighbours(state, A).sort());
    expect(partitionReport(L.community, step.state).ok).toBe(true);
    expect(step.state.changed).toEqual([A]);
    const back = undo(step.history, step.state);
    expect(toGrids(back.state)).toEqual(toGrids(state));
  });

  it('adds and removes grids (a file loaded over the plan), and refuses bad arguments', () => {
    const state = fromGrids(L.grids);
    const next = setGrids(state, { grids: [grid('NEW', rect(LON0 + 10, LAT0, LON0 + 10.001, LAT0 + 0.001))], remove: [D] });
    expect(next.features.map((f) => f.properties.code).sort()).toEqual([A, B, C, 'NEW'].sort());
    expect(next.removed).toEqual([D]);
    expect(codeOf(() => setGrids(state, { grids: [], remove: ['nope'] }))).toBe('NO_SUCH_GRID');
    expect(codeOf(() => setGrids(state, { grids: [grid(A, rect(0, 0, 1, 1))], remove: [A] }))).toBe('INVALID_INPUT');
    expect(codeOf(() => setGrids(state, { grids: [grid(B, rect(0, 0, 1, 1)), grid(B, rect(2, 2, 3, 3))] }))).toBe('DUPLICATE_CODE');
    expect(codeOf(() => setGrids(state, { grids: [{ ...grid(B, rect(0, 0, 1, 1)), properties: { code: B, name: ' ' } }] }))).toBe('BAD_NAME');
    expect(codeOf(() => setGrids(state, null as never))).toBe('UNKNOWN_EDIT');
  });
});
