/**
 * Edits that reshape grids: split, merge, move a block. They work on exact coordinates taken from the arcs (plus
 * the meeting points inserted into the arcs, which the neighbours get too), then rebuild the whole topology from
 * the resulting grids — without quantization, so no vertex moves and every border is again one shared arc.
 */
import type { Polygon, Position } from 'geojson';
import { topology } from 'topojson-server';
import { merge as topoMerge } from 'topojson-client';
import { assertSimple, cutGrid } from './cut.js';
import { cleanRing, copyPoint, distanceToRings, isLonLat, orient, pointInPolygon, samePoint } from './geometry.js';
import { untangle } from './rings.js';
import { arcIdsOf, fromGrids, geometryOf, gridIndex, polygonsOf, propsOf, stateFromFeatures } from './state.js';
import {
  fail,
  type GridFeature,
  type MergeGridsArgs,
  type MoveBlockArgs,
  type PlanState,
  type RecodeArgs,
  type RenameArgs,
  type SetGridsArgs,
  type SplitGridArgs,
} from './types.js';

function checkNewCode(state: PlanState, code: unknown, except?: string): string {
  if (typeof code !== 'string' || !code.trim()) fail('BAD_CODE', 'a grid code must be a non-empty string');
  if (code !== except && state.indexByCode.has(code)) fail('CODE_TAKEN', `the code ${code} is taken`, { code });
  return code;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !name.trim()) fail('BAD_NAME', 'a grid name must be a non-empty string');
  return name;
}

function feature(code: string, name: string, polygons: Position[][][], id?: string | number): GridFeature {
  const f: GridFeature = { type: 'Feature', properties: { code, name }, geometry: geometryOf(polygons) };
  if (id != null) f.id = id;
  return f;
}

/** The codes of the grids whose arcs got new points (they changed too, by a vertex). */
function codesUsing(state: PlanState, arcs: number[]): string[] {
  const out = new Set<string>();
  for (const a of arcs) for (const g of state.arcUsers[a] ?? []) out.add(propsOf(state, g).code);
  return [...out];
}

/**
 * Splits a grid in two along a polyline drawn across it (its ends outside the grid or on its border). Seen along
 * the line, the part on the left keeps the code and name; the part on the right becomes `newCode`/`newName`.
 */
export function splitGridState(state0: PlanState, args: SplitGridArgs): PlanState {
  const g = gridIndex(state0, args.code);
  const newCode = checkNewCode(state0, args.newCode);
  const newName = checkName(args.newName);
  if (!Array.isArray(args.line) || args.line.length < 2 || !args.line.every(isLonLat)) fail('BAD_LINE', 'the line needs 2 or more [lon, lat] points');
  const open: Position[] = [];
  for (const p of args.line) if (!open.length || !samePoint(open[open.length - 1]!, p)) open.push(copyPoint(p));
  if (open.length < 2) fail('BAD_LINE', 'the line needs 2 distinct points');
  assertSimple(open, false, state0.options.tolerance, 'LINE_SELF_INTERSECTS', 'the line');
  const cut = cutGrid(state0, g, [open]);
  const { arrangement, inside } = cut;
  const touched = new Set<number>();
  let left: number | undefined;
  for (const [c, d] of cut.cutSegments) {
    const l = arrangement.faceLeftOf(c, d), r = arrangement.faceLeftOf(d, c);
    if (l === undefined || r === undefined) continue;
    touched.add(l).add(r);
    left ??= l;
  }
  if (touched.size < 2 || left === undefined) fail('LINE_NOT_ACROSS', `the line does not cut grid ${args.code} in two`);
  if (touched.size > 2) fail('LINE_SPLITS_MANY', `the line cuts grid ${args.code} into ${touched.size} pieces`);
  const right = [...touched].find((f) => f !== left)!;
  const keep = inside.filter((f) => f !== right).map((f) => arrangement.faces[f]!.rings);
  const state = cut.state;
  const features = state.features.slice();
  const old = features[g]!;
  features.splice(g, 1, feature(args.code, old.properties.name, keep, old.id), feature(newCode, newName, [arrangement.faces[right]!.rings]));
  const changed = new Set([args.code, newCode, ...codesUsing(state, cut.arcs)]);
  return stateFromFeatures(features, state.options, [...changed]);
}

/** Merges two neighbouring grids into one (topojson-client `merge`: the arcs they share disappear). */
export function mergeGridsState(state: PlanState, args: MergeGridsArgs): PlanState {
  if (!Array.isArray(args.codes) || args.codes.length !== 2) fail('UNKNOWN_EDIT', 'codes must be two grid codes');
  const [a, b] = args.codes;
  const ia = gridIndex(state, a), ib = gridIndex(state, b);
  if (ia === ib) fail('SAME_GRID', 'a grid cannot merge with itself');
  if (args.code !== a && args.code !== b) checkNewCode(state, args.code);
  const name = args.name === undefined ? propsOf(state, args.code === b ? ib : ia).name : checkName(args.name);
  const geoms = state.topology.objects.grids.geometries;
  const arcsB = new Set(arcIdsOf(geoms[ib]!));
  if (!arcIdsOf(geoms[ia]!).some((x) => arcsB.has(x))) fail('NOT_NEIGHBOURS', `grids ${a} and ${b} share no border`, { codes: [a, b] });
  const merged = topoMerge(state.topology as never, [geoms[ia]!, geoms[ib]!] as never);
  const polygons = untangle(merged.coordinates.map((rings) => rings.map((r, i) => orient(r.map(copyPoint), i === 0))));
  const features = state.features.slice();
  const keepAt = Math.min(ia, ib);
  features[keepAt] = feature(args.code, name, polygons, state.features[keepAt]!.id);
  features.splice(Math.max(ia, ib), 1);
  const removed = [a, b].filter((c) => c !== args.code);
  return stateFromFeatures(features, state.options, [args.code], removed);
}

function pieceRings(piece: unknown): Position[][] {
  const p = piece as Polygon | null;
  if (!p || p.type !== 'Polygon' || !Array.isArray(p.coordinates) || !p.coordinates.length) fail('BAD_PIECE', 'the piece must be a GeoJSON Polygon');
  return p.coordinates.map((ring, i) => {
    if (!Array.isArray(ring) || !ring.every(isLonLat)) fail('BAD_PIECE', 'the piece has bad coordinates');
    const clean = cleanRing(ring);
    if (clean.length < 4 || new Set(clean.map((q) => `${q[0]},${q[1]}`)).size < 3) fail('BAD_PIECE', 'a ring of the piece has fewer than 3 points');
    return orient(clean, i === 0);
  });
}

/**
 * Moves the part of grid `from` inside `piece` to its neighbour `to`. The piece is clipped to `from`; every part
 * moved must share a border with `to` (so `to` gains no detached part), and `from` must keep something.
 */
export function moveBlockState(state0: PlanState, args: MoveBlockArgs): PlanState {
  const gf = gridIndex(state0, args.from), gt = gridIndex(state0, args.to);
  if (gf === gt) fail('SAME_GRID', 'a block cannot move to the grid it is in');
  const rings = pieceRings(args.piece);
  const tol = state0.options.tolerance;
  for (const r of rings) assertSimple(r, true, tol, 'BAD_PIECE', 'the piece');
  const cut = cutGrid(state0, gf, rings);
  const { arrangement, inside } = cut;
  const inPiece = new Set<number>(), outPiece = new Set<number>();
  for (const [c, d] of cut.cutSegments) {
    const l = arrangement.faceLeftOf(c, d), r = arrangement.faceLeftOf(d, c);
    if (l !== undefined) inPiece.add(l);
    if (r !== undefined) outPiece.add(r);
  }
  for (const f of inside) {
    if (inPiece.has(f) || outPiece.has(f)) continue;
    const shell = arrangement.faces[f]!.rings[0]!;
    const probe = shell.find((p) => distanceToRings(p, rings) > tol) ?? shell[0]!;
    (pointInPolygon(probe, rings) ? inPiece : outPiece).add(f);
  }
  const moved = inside.filter((f) => inPiece.has(f) && !outPiece.has(f));
  const keep = inside.filter((f) => !moved.includes(f));
  if (!moved.length) fail('PIECE_EMPTY', `the piece takes nothing of grid ${args.from}`);
  if (!keep.length) fail('PIECE_COVERS_GRID', `the piece takes all of grid ${args.from}: merge the grids instead`);
  const state = cut.state;
  // `to` and the moved faces share exact points along their border: merge them through a small topology
  const toFeature = state.features[gt]!;
  const small = topology({
    m: { type: 'FeatureCollection', features: [toFeature, ...moved.map((f) => feature('', '', untangle([arrangement.faces[f]!.rings])))] },
  } as never) as unknown as { objects: { m: { geometries: unknown[] } } };
  const merged = topoMerge(small as never, small.objects.m.geometries as never);
  const toPolygons = untangle(merged.coordinates.map((rs) => rs.map((r, i) => orient(r.map(copyPoint), i === 0))));
  if (toPolygons.length > polygonsOf(toFeature.geometry).length) fail('PIECE_NOT_ADJACENT', `a part of the piece would not touch grid ${args.to}`, { from: args.from, to: args.to });
  const features = state.features.slice();
  const fromProps = propsOf(state, gf), toProps = propsOf(state, gt);
  features[gf] = feature(fromProps.code, fromProps.name, keep.map((f) => arrangement.faces[f]!.rings), features[gf]!.id);
  features[gt] = feature(toProps.code, toProps.name, toPolygons, toFeature.id);
  const changed = new Set([args.from, args.to, ...codesUsing(state, cut.arcs)]);
  return stateFromFeatures(features, state.options, [...changed]);
}

function withProps(state: PlanState, i: number, code: string, name: string, changedCode: string, removed: string[]): PlanState {
  const geometries = state.topology.objects.grids.geometries.slice();
  geometries[i] = { ...geometries[i]!, properties: { code, name } };
  const features = state.features.slice();
  features[i] = { ...features[i]!, properties: { code, name } };
  const indexByCode = new Map(state.indexByCode);
  for (const c of removed) indexByCode.delete(c);
  indexByCode.set(code, i);
  return {
    ...state,
    topology: { ...state.topology, objects: { grids: { ...state.topology.objects.grids, geometries } } },
    features,
    indexByCode,
    changed: [changedCode],
    removed,
  };
}

export function renameState(state: PlanState, args: RenameArgs): PlanState {
  const i = gridIndex(state, args.code);
  return withProps(state, i, args.code, checkName(args.name), args.code, []);
}

export function recodeState(state: PlanState, args: RecodeArgs): PlanState {
  const i = gridIndex(state, args.code);
  const newCode = checkNewCode(state, args.newCode, args.code);
  return withProps(state, i, newCode, propsOf(state, i).name, newCode, newCode === args.code ? [] : [args.code]);
}

/**
 * Replaces, adds or removes whole grids, then rebuilds the topology from all of them as `fromGrids` does (snapped
 * and noded within the tolerance, so a replaced grid that follows its neighbours' borders shares them again).
 * Nothing guarantees a tiling here: the result is validated like any other edit.
 */
export function setGridsState(state: PlanState, args: SetGridsArgs): PlanState {
  if (!args || !Array.isArray(args.grids) || (args.remove !== undefined && !Array.isArray(args.remove))) fail('UNKNOWN_EDIT', 'setGrids needs grids (and remove, a list of codes)');
  const given = new Map<string, GridFeature>();
  for (const f of args.grids) {
    const code = f?.properties?.code;
    if (typeof code !== 'string') fail('INVALID_INPUT', 'every grid needs properties.code');
    if (given.has(code)) fail('DUPLICATE_CODE', `two grids have the code ${code}`, { code });
    checkName(f.properties.name);
    given.set(code, f);
  }
  const remove = new Set(args.remove ?? []);
  for (const code of remove) {
    gridIndex(state, code);
    if (given.has(code)) fail('INVALID_INPUT', `grid ${code} is both given and removed`, { code });
  }
  const kept = state.features.filter((f) => !remove.has(f.properties.code)).map((f) => given.get(f.properties.code) ?? f);
  const added = [...given.values()].filter((f) => !state.indexByCode.has(f.properties.code));
  const next = fromGrids({ type: 'FeatureCollection', features: [...kept, ...added] }, state.options);
  return { ...next, changed: [...given.keys()], removed: [...remove] };
}
