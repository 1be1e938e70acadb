/** Building a PlanState from grids and back, and rebuilding the polygons of the grids an edit touched. */
import type { Feature, MultiPolygon, Polygon, Position } from 'geojson';
import { topology } from 'topojson-server';
import { feature as topoFeature } from 'topojson-client';
import { boxOf, cleanRing, copyPoint, distinctCount, orient } from './geometry.js';
import { snapAndNode } from './noding.js';
import { untangle } from './rings.js';
import {
  fail,
  type Box,
  type GridCollection,
  type GridFeature,
  type GridGeometry,
  type GridProps,
  type GridTopology,
  type PlanOptions,
  type PlanState,
  type TopoGrid,
} from './types.js';

export const DEFAULT_OPTIONS: PlanOptions = { lockBoundary: false, tolerance: 1e-9 };

/** Polygon or MultiPolygon coordinates as a list of polygons. */
export function polygonsOf(g: GridGeometry): Position[][][] {
  return g.type === 'Polygon' ? [g.coordinates] : g.coordinates;
}

export function geometryOf(polygons: Position[][][]): GridGeometry {
  return polygons.length === 1 ? { type: 'Polygon', coordinates: polygons[0]! } : { type: 'MultiPolygon', coordinates: polygons };
}

/** Rings closed, without repeated points, exteriors counter-clockwise and holes clockwise (RFC 7946). */
function normalisePolygons(polygons: readonly (readonly (readonly number[])[])[][], code: string): Position[][][] {
  return polygons.map((rings) =>
    rings.map((ring, i) => {
      if (!Array.isArray(ring)) fail('INVALID_INPUT', `grid ${code}: a ring is not an array`);
      for (const p of ring) {
        if (!Array.isArray(p) || !Number.isFinite(p[0]) || !Number.isFinite(p[1])) fail('INVALID_INPUT', `grid ${code}: bad coordinates`);
      }
      const clean = cleanRing(ring);
      if (clean.length < 4 || distinctCount(clean) < 3) fail('INVALID_INPUT', `grid ${code}: a ring has fewer than 3 distinct points`);
      return orient(clean, i === 0);
    }),
  );
}

function checkCollection(fc: unknown): asserts fc is GridCollection {
  const c = fc as GridCollection | null;
  if (!c || c.type !== 'FeatureCollection' || !Array.isArray(c.features)) fail('INVALID_INPUT', 'not a FeatureCollection');
  for (const f of c.features) {
    const g = f?.geometry;
    if (!f || f.type !== 'Feature' || !g || (g.type !== 'Polygon' && g.type !== 'MultiPolygon') || !Array.isArray(g.coordinates)) {
      fail('INVALID_INPUT', 'every grid must be a Feature with a Polygon or MultiPolygon geometry');
    }
    if (typeof f.properties?.code !== 'string' || typeof f.properties?.name !== 'string') fail('INVALID_INPUT', 'every grid needs properties.code and properties.name');
  }
}

/**
 * The plan of a community from its grids (GET /api/planner/communities/{code}/versions/{n}). Rings are cleaned
 * and rewound (exterior counter-clockwise); with `tolerance` > 0 nearly matching borders are snapped together
 * (see noding.ts); then topojson-server builds the arcs WITHOUT quantization, so every coordinate is kept
 * exactly and a border two grids share point for point becomes one arc.
 */
export function fromGrids(fc: GridCollection, options: Partial<PlanOptions> = {}): PlanState {
  const opts: PlanOptions = { ...DEFAULT_OPTIONS, ...options };
  checkCollection(fc);
  const seen = new Set<string>();
  const normal = fc.features.map((f) => {
    const code = f.properties.code;
    if (seen.has(code)) fail('DUPLICATE_CODE', `two grids have the code ${code}`, { code });
    seen.add(code);
    return normalisePolygons(polygonsOf(f.geometry), code);
  });
  // snap and node all rings together, then put them back in place
  const flat: Position[][] = normal.flatMap((polys) => polys.flat());
  const noded = snapAndNode(flat, opts.tolerance);
  let k = 0;
  const features: GridFeature[] = fc.features.map((f, i) => {
    const polygons = normal[i]!.map((rings) =>
      rings.map(() => {
        const ring = noded[k++]!;
        if (ring.length < 4 || distinctCount(ring) < 3) fail('INVALID_INPUT', `grid ${f.properties.code}: a ring collapses when snapped`);
        return ring;
      }),
    );
    const geometry: GridGeometry = f.geometry.type === 'Polygon' ? { type: 'Polygon', coordinates: polygons[0]! } : { type: 'MultiPolygon', coordinates: polygons };
    const out: GridFeature = { type: 'Feature', properties: { code: f.properties.code, name: f.properties.name }, geometry };
    if (f.id != null) out.id = f.id;
    return out;
  });
  return stateFromFeatures(features, opts);
}

/** Builds the topology of already normalised grids (the edits that reshape grids end here). */
export function stateFromFeatures(input: readonly GridFeature[], options: PlanOptions, changed?: readonly string[], removed: readonly string[] = []): PlanState {
  const features = input.map((f) => {
    const polygons = polygonsOf(f.geometry);
    const simple = untangle(polygons);
    if (simple === polygons) return f;
    const out: GridFeature = { type: 'Feature', properties: f.properties, geometry: f.geometry.type === 'Polygon' && simple.length === 1 ? { type: 'Polygon', coordinates: simple[0]! } : { type: 'MultiPolygon', coordinates: simple } };
    if (f.id != null) out.id = f.id;
    return out;
  });
  const built = topology({ grids: { type: 'FeatureCollection', features: features as GridFeature[] } } as never) as unknown as GridTopology;
  const topo: GridTopology = {
    type: 'Topology',
    arcs: built.arcs.map((arc) => arc.map(copyPoint)),
    objects: {
      grids: {
        type: 'GeometryCollection',
        geometries: built.objects.grids.geometries.map((g, i) => {
          const f = features[i]!;
          const out = { type: g.type, arcs: g.arcs, properties: { code: f.properties.code, name: f.properties.name } } as TopoGrid;
          if (f.id != null) out.id = f.id;
          return out;
        }),
      },
    },
  };
  if (built.bbox) topo.bbox = built.bbox;
  const geometries = topo.objects.grids.geometries;
  return {
    topology: topo,
    features: geometries.map((g) => gridFeature(topo, g)),
    indexByCode: new Map(geometries.map((g, i) => [g.properties.code, i])),
    arcUsers: arcUsersOf(topo),
    arcBoxes: topo.arcs.map((a) => boxOf(a)),
    options,
    changed: changed ?? geometries.map((g) => g.properties.code),
    removed,
    prior: null,
    edit: null,
  };
}

/** Arc indexes a grid's rings use, each once, ascending. */
export function arcIdsOf(g: TopoGrid): number[] {
  const ids = new Set<number>();
  const rings = g.type === 'Polygon' ? g.arcs : g.arcs.flat();
  for (const ring of rings) for (const a of ring) ids.add(a < 0 ? ~a : a);
  return [...ids].sort((x, y) => x - y);
}

function arcUsersOf(topo: GridTopology): number[][] {
  const users: number[][] = topo.arcs.map(() => []);
  topo.objects.grids.geometries.forEach((g, i) => {
    for (const a of arcIdsOf(g)) users[a]!.push(i);
  });
  return users;
}

/** One grid's polygon from the arcs (topojson-client `feature`), with coordinates copied (the arcs stay untouched). */
export function gridFeature(topo: GridTopology, g: TopoGrid): GridFeature {
  const f = topoFeature(topo as never, g as never) as unknown as Feature<Polygon | MultiPolygon>;
  const geometry: GridGeometry =
    f.geometry.type === 'Polygon'
      ? { type: 'Polygon', coordinates: f.geometry.coordinates.map((r) => r.map(copyPoint)) }
      : { type: 'MultiPolygon', coordinates: f.geometry.coordinates.map((p) => p.map((r) => r.map(copyPoint))) };
  const out: GridFeature = { type: 'Feature', properties: { code: g.properties.code, name: g.properties.name }, geometry };
  if (g.id != null) out.id = g.id;
  return out;
}

/** The grids as a FeatureCollection (new objects each call: the caller may change them). */
export function toGrids(state: PlanState): GridCollection {
  return {
    type: 'FeatureCollection',
    features: state.features.map((f) => {
      const out: GridFeature = { type: 'Feature', properties: { ...f.properties }, geometry: cloneGeometry(f.geometry) };
      if (f.id != null) out.id = f.id;
      return out;
    }),
  };
}

export function cloneGeometry(g: GridGeometry): GridGeometry {
  return g.type === 'Polygon'
    ? { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(copyPoint)) }
    : { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(copyPoint))) };
}

/** Indexes (into features) of the grids that use any of the arcs. */
export function gridsUsing(state: PlanState, arcs: Iterable<number>): number[] {
  const out = new Set<number>();
  for (const a of arcs) for (const g of state.arcUsers[a] ?? []) out.add(g);
  return [...out].sort((x, y) => x - y);
}

/**
 * Rebuilds from the arcs the polygons of the grids that use `arcs`, and only those; the other features are
 * shared with `state`. Also refreshes the boxes of those arcs. This is what a vertex edit costs.
 */
export function rebuildTouched(state: PlanState, arcs: Iterable<number>): PlanState {
  const arcList = [...arcs];
  const grids = gridsUsing(state, arcList);
  const features = state.features.slice();
  const geometries = state.topology.objects.grids.geometries;
  for (const i of grids) features[i] = gridFeature(state.topology, geometries[i]!);
  const arcBoxes = state.arcBoxes.slice();
  for (const a of arcList) arcBoxes[a] = boxOf(state.topology.arcs[a]!);
  return { ...state, features, arcBoxes, changed: grids.map((i) => geometries[i]!.properties.code), removed: [] };
}

/** Rebuilds every polygon from the arcs (what `rebuildTouched` is measured against). */
export function rebuildAll(state: PlanState): PlanState {
  return rebuildTouched(state, state.topology.arcs.keys());
}

export function gridIndex(state: PlanState, code: unknown): number {
  const i = typeof code === 'string' ? state.indexByCode.get(code) : undefined;
  if (i === undefined) fail('NO_SUCH_GRID', `no grid ${String(code)}`, { code });
  return i;
}

export function propsOf(state: PlanState, i: number): GridProps {
  return state.topology.objects.grids.geometries[i]!.properties;
}

export type { Box };
