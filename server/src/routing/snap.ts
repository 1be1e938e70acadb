/**
 * Snapping a point onto the in-memory road graph: the nearest edge (within a maximum distance) and
 * the projected point on it. Done in process rather than with a PostGIS KNN per point: the graph
 * already holds every edge's polyline, a uniform cell index over them answers in microseconds
 * (a LATERAL KNN + geography distance per responder cost ~0.3 ms each on the city preset), and the
 * edge found is by construction an edge of the graph being searched.
 *
 * Distances are measured in a local equirectangular plane around the point (exact to well under
 * 0.1% within the few hundred metres a snap may span). The partial length from the edge's source to
 * the projected point is the edge's own length_m (geodesic, from the database) scaled by the share
 * of the haversine length before the point, so the two partial edges add up to the edge exactly.
 */
import type { RoadGraph } from './graph.js';

/** Cell size of the index, degrees (~220 m north–south). */
const CELL = 0.002;
const R = 6_371_008.8;
const RAD = Math.PI / 180;

export interface EdgeIndex {
  cells: Map<number, number[]>;
  /** Per edge: the last query that looked at it (so an edge listed in several cells is measured once). */
  seen: Uint32Array;
  query: number;
}

const key = (ix: number, iy: number) => ix * 1_000_003 + iy;

/** Lists every edge in each cell its segments' bounding boxes touch. */
export function buildEdgeIndex(g: Pick<RoadGraph, 'edgeCount' | 'coordStart' | 'coords'>): EdgeIndex {
  const cells = new Map<number, number[]>();
  for (let e = 0; e < g.edgeCount; e++) {
    const seen = new Set<number>();
    for (let i = g.coordStart[e]; i + 3 < g.coordStart[e + 1]; i += 2) {
      const x0 = Math.floor(Math.min(g.coords[i], g.coords[i + 2]) / CELL);
      const x1 = Math.floor(Math.max(g.coords[i], g.coords[i + 2]) / CELL);
      const y0 = Math.floor(Math.min(g.coords[i + 1], g.coords[i + 3]) / CELL);
      const y1 = Math.floor(Math.max(g.coords[i + 1], g.coords[i + 3]) / CELL);
      for (let x = x0; x <= x1; x++) {
        for (let y = y0; y <= y1; y++) {
          const k = key(x, y);
          if (seen.has(k)) continue;
          seen.add(k);
          const list = cells.get(k);
          if (list) list.push(e);
          else cells.set(k, [e]);
        }
      }
    }
  }
  return { cells, seen: new Uint32Array(g.edgeCount), query: 0 };
}

export interface Snap {
  /** Edge index. */
  edge: number;
  /** Metres from the point to the edge. */
  snapM: number;
  /** Metres along the edge from its source to the projected point (0..edgeMetres). */
  partialM: number;
  /** Fraction of the edge's planar length (degrees) at the projected point, as ST_LineLocatePoint. */
  frac: number;
}

function haversine(lon1: number, lat1: number, lon2: number, lat2: number): number {
  const dLat = (lat2 - lat1) * RAD;
  const dLon = (lon2 - lon1) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(lat1 * RAD) * Math.cos(lat2 * RAD) * Math.sin(dLon / 2) ** 2;
  return 2 * R * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The nearest edge within `maxMetres` of (lon, lat), or undefined. Ties go to the lower edge index. */
export function snapToGraph(g: RoadGraph, lon: number, lat: number, maxMetres: number): Snap | undefined {
  if (g.edgeCount === 0 || !Number.isFinite(lon) || !Number.isFinite(lat)) return undefined;
  const kx = Math.cos(lat * RAD) * R * RAD; // metres per degree of longitude here
  const ky = R * RAD;
  const rx = Math.ceil(maxMetres / kx / CELL);
  const ry = Math.ceil(maxMetres / ky / CELL);
  const cx = Math.floor(lon / CELL);
  const cy = Math.floor(lat / CELL);
  const { coords, coordStart } = g;
  if (g.edgeIndex.query >= 0xfffffff0) {
    g.edgeIndex.seen.fill(0);
    g.edgeIndex.query = 0;
  }
  let best = Infinity;
  let bestEdge = -1;
  let bestSeg = 0;
  let bestT = 0;
  const index = g.edgeIndex;
  const q = ++index.query;
  const seen = index.seen;
  // Rings of cells outward from the point's cell; after ring r everything farther out is at least
  // r cells away, so stop as soon as the best is closer than that.
  const cellM = Math.min(CELL * kx, CELL * ky);
  for (let r = 0; r <= Math.max(rx, ry); r++) {
    if (bestEdge >= 0 && best <= (r - 1) * cellM) break;
    for (let x = cx - Math.min(r, rx); x <= cx + Math.min(r, rx); x++) {
      for (let y = cy - Math.min(r, ry); y <= cy + Math.min(r, ry); y++) {
        if (Math.max(Math.abs(x - cx), Math.abs(y - cy)) !== r) continue; // the ring only
        const list = index.cells.get(key(x, y));
        if (!list) continue;
        for (const e of list) {
          if (seen[e] === q) continue;
          seen[e] = q;
          for (let i = coordStart[e]; i + 3 < coordStart[e + 1]; i += 2) {
            const ax = (coords[i] - lon) * kx;
            const ay = (coords[i + 1] - lat) * ky;
            const bx = (coords[i + 2] - lon) * kx;
            const by = (coords[i + 3] - lat) * ky;
            const dx = bx - ax;
            const dy = by - ay;
            const len2 = dx * dx + dy * dy;
            const t = len2 === 0 ? 0 : Math.min(1, Math.max(0, -(ax * dx + ay * dy) / len2));
            const d = Math.hypot(ax + t * dx, ay + t * dy);
            if (d < best - 1e-9 || (Math.abs(d - best) <= 1e-9 && e < bestEdge)) {
              best = d;
              bestEdge = e;
              bestSeg = i;
              bestT = t;
            }
          }
        }
      }
    }
  }
  if (bestEdge < 0 || best > maxMetres) return undefined;
  // Lengths along the edge: haversine for the metres share, planar degrees for the fraction.
  let hvBefore = 0;
  let hvTotal = 0;
  let dgBefore = 0;
  let dgTotal = 0;
  for (let i = coordStart[bestEdge]; i + 3 < coordStart[bestEdge + 1]; i += 2) {
    const hv = haversine(coords[i], coords[i + 1], coords[i + 2], coords[i + 3]);
    const dg = Math.hypot(coords[i + 2] - coords[i], coords[i + 3] - coords[i + 1]);
    if (i < bestSeg) {
      hvBefore += hv;
      dgBefore += dg;
    } else if (i === bestSeg) {
      hvBefore += hv * bestT;
      dgBefore += dg * bestT;
    }
    hvTotal += hv;
    dgTotal += dg;
  }
  const metres = g.edgeMetres[bestEdge];
  return {
    edge: bestEdge,
    snapM: best,
    partialM: hvTotal > 0 ? (metres * hvBefore) / hvTotal : 0,
    frac: dgTotal > 0 ? dgBefore / dgTotal : 0,
  };
}
