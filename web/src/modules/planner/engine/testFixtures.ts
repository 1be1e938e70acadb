/** Communities made of grids for the engine's tests (not used by the app). */
import type { Polygon, Position } from 'geojson';
import type { GridCollection, GridFeature, PlanState } from './types.js';
import { PlanEditError } from './types.js';
import { toGrids } from './state.js';

export const COMMUNITY_CODE = '310101001001';
export const LON0 = 121.4;
export const LAT0 = 31.2;

export interface Layout {
  grids: GridCollection;
  community: Polygon;
}

/**
 * cols × rows grids of about 285 m × 280 m. With `irregular`, the borders between columns zigzag and the borders
 * between rows bulge (several vertices each, shared by construction).
 */
export function gridLayout(cols: number, rows: number, irregular = false, dx = 0.003, dy = 0.0025): Layout {
  const xAt = (c: number) => LON0 + c * dx;
  const yAt = (r: number) => LAT0 + r * dy;
  // vertical border c as points from row r to row r + 1 (both ends included)
  const vertical = (c: number, r: number): Position[] => {
    const pts: Position[] = [[xAt(c), yAt(r)]];
    if (irregular && c > 0 && c < cols) {
      const w = dx * 0.15;
      pts.push([xAt(c) + w, yAt(r) + dy * 0.2], [xAt(c) - w * 0.6, yAt(r) + dy * 0.45], [xAt(c) + w * 0.8, yAt(r) + dy * 0.7], [xAt(c) - w * 0.3, yAt(r) + dy * 0.85]);
    }
    pts.push([xAt(c), yAt(r + 1)]);
    return pts;
  };
  // horizontal border r as points from column c to c + 1
  const horizontal = (r: number, c: number): Position[] => {
    const pts: Position[] = [[xAt(c), yAt(r)]];
    if (irregular && r > 0 && r < rows) {
      const h = dy * 0.12;
      pts.push([xAt(c) + dx * 0.3, yAt(r) + h], [xAt(c) + dx * 0.55, yAt(r) - h * 0.5], [xAt(c) + dx * 0.8, yAt(r) + h * 0.7]);
    }
    pts.push([xAt(c + 1), yAt(r)]);
    return pts;
  };
  const features: GridFeature[] = [];
  let n = 1;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const ring: Position[] = [
        ...horizontal(r, c),
        ...vertical(c + 1, r).slice(1),
        ...horizontal(r + 1, c).reverse().slice(1),
        ...vertical(c, r).reverse().slice(1),
      ];
      features.push({
        type: 'Feature',
        properties: { code: `${COMMUNITY_CODE}${String(n).padStart(3, '0')}`, name: `第${n}网格` },
        geometry: { type: 'Polygon', coordinates: [ring] },
      });
      n++;
    }
  }
  const outer: Position[] = [];
  for (let c = 0; c < cols; c++) outer.push(...horizontal(0, c).slice(0, -1));
  for (let r = 0; r < rows; r++) outer.push(...vertical(cols, r).slice(0, -1));
  for (let c = cols - 1; c >= 0; c--) outer.push(...horizontal(rows, c).reverse().slice(0, -1));
  for (let r = rows - 1; r >= 0; r--) outer.push(...vertical(0, r).reverse().slice(0, -1));
  outer.push(outer[0]!);
  return { grids: { type: 'FeatureCollection', features }, community: { type: 'Polygon', coordinates: [outer] } };
}

export function rect(x0: number, y0: number, x1: number, y1: number): Position[] {
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]];
}

export function grid(code: string, ...rings: Position[][]): GridFeature {
  return { type: 'Feature', properties: { code, name: code }, geometry: { type: 'Polygon', coordinates: rings } };
}

export function collection(...features: GridFeature[]): GridCollection {
  return { type: 'FeatureCollection', features };
}

/** The parts of a state two equal states must share (not the link to the state before). */
export function snapshot(state: PlanState) {
  return { topology: state.topology, features: state.features, codes: [...state.indexByCode.entries()] };
}

/** Every position of a grid, as exact keys. */
export function keysOf(f: GridFeature): Set<string> {
  const polys = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
  return new Set(polys.flat(2).map((p) => `${p[0]},${p[1]}`));
}

/** The layout with an enclave grid cut out of its first grid (which gets a hole). */
export function withEnclave(layout: Layout): Layout {
  const [first, ...rest] = layout.grids.features;
  const ring = (first!.geometry as Polygon).coordinates[0]!;
  const xs = ring.map((p) => p[0]!), ys = ring.map((p) => p[1]!);
  const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const e: Position[] = [
    [x0 + (x1 - x0) * 0.3, y0 + (y1 - y0) * 0.3],
    [x0 + (x1 - x0) * 0.6, y0 + (y1 - y0) * 0.35],
    [x0 + (x1 - x0) * 0.65, y0 + (y1 - y0) * 0.7],
    [x0 + (x1 - x0) * 0.35, y0 + (y1 - y0) * 0.6],
  ];
  e.push(e[0]!);
  const holed: GridFeature = { ...first!, geometry: { type: 'Polygon', coordinates: [ring, e.slice().reverse()] } };
  const enclave: GridFeature = { type: 'Feature', properties: { code: `${COMMUNITY_CODE}099`, name: '飞地' }, geometry: { type: 'Polygon', coordinates: [e] } };
  return { community: layout.community, grids: { type: 'FeatureCollection', features: [holed, ...rest, enclave] } };
}

/** The code of the PlanEditError `fn` throws, undefined when it throws none (other errors pass through). */
export function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof PlanEditError) return e.code;
    throw e;
  }
  return undefined;
}

/** The grid `code` of a state, as a Feature. */
export function featureOf(state: PlanState, code: string) {
  return toGrids(state).features.find((f) => f.properties.code === code)!;
}
