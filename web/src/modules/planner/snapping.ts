/**
 * Snapping while the planner drags a vertex or draws a line: to the nearest guide vertex within a few pixels,
 * else to the nearest point on a guide line (the community boundary, road centre lines, grid borders). Distances
 * are measured on the screen (`project`), so snapping feels the same at every zoom. Pure; the map passes its
 * `project` and the guides.
 */
import type { Position } from 'geojson';

export type SnapKind = 'vertex' | 'boundary' | 'road' | 'border';

export interface SnapGuide {
  kind: SnapKind;
  /** a polyline (a closed ring repeats its first point) */
  line: readonly Position[];
  /** [minLon, minLat, maxLon, maxLat] of the line */
  box: readonly [number, number, number, number];
}

export interface Snapped {
  at: [number, number];
  kind: SnapKind;
  /** whether it snapped to a vertex of the guide (else to a point on one of its edges) */
  vertex: boolean;
}

export type Project = (lonLat: [number, number]) => { x: number; y: number };

export function guide(kind: SnapKind, line: readonly Position[]): SnapGuide {
  let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
  for (const p of line) {
    x0 = Math.min(x0, p[0]!); y0 = Math.min(y0, p[1]!);
    x1 = Math.max(x1, p[0]!); y1 = Math.max(y1, p[1]!);
  }
  return { kind, line, box: [x0, y0, x1, y1] };
}

/** The guides of GeoJSON lines and polygons (rings as lines). */
export function guidesOf(kind: SnapKind, geometry: { type: string; coordinates: unknown } | null | undefined): SnapGuide[] {
  if (!geometry) return [];
  const c = geometry.coordinates as never;
  switch (geometry.type) {
    case 'LineString': return [guide(kind, c)];
    case 'MultiLineString': case 'Polygon': return (c as Position[][]).map((l) => guide(kind, l));
    case 'MultiPolygon': return (c as Position[][][]).flat().map((l) => guide(kind, l));
    default: return [];
  }
}

/**
 * The snapped position for the pointer at `pointer` (lon/lat; its screen point is `project(pointer)`), or null
 * when no guide is within `tolerancePx`. `near` is the pointer's neighbourhood in lon/lat ([minLon, minLat,
 * maxLon, maxLat], the tolerance around it) to skip far guides cheaply. Vertices win over edges (within the
 * tolerance); among equals the nearest wins; `skip` leaves out a position (the vertex being dragged).
 */
export function snap(
  pointer: [number, number], guides: readonly SnapGuide[], project: Project, tolerancePx: number,
  near: readonly [number, number, number, number], skip?: (p: Position) => boolean,
): Snapped | null {
  const q = project(pointer);
  let bestVertex: Snapped | null = null, bestVertexD = tolerancePx;
  let bestEdge: Snapped | null = null, bestEdgeD = tolerancePx;
  for (const g of guides) {
    if (g.box[0] > near[2] || g.box[2] < near[0] || g.box[1] > near[3] || g.box[3] < near[1]) continue;
    let prev: { x: number; y: number; p: Position } | null = null;
    for (const p of g.line) {
      const s = project([p[0]!, p[1]!]);
      if (!skip?.(p)) {
        const d = Math.hypot(s.x - q.x, s.y - q.y);
        if (d <= bestVertexD) { bestVertexD = d; bestVertex = { at: [p[0]!, p[1]!], kind: g.kind, vertex: true }; }
      }
      if (prev) {
        const dx = s.x - prev.x, dy = s.y - prev.y;
        const len2 = dx * dx + dy * dy;
        const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((q.x - prev.x) * dx + (q.y - prev.y) * dy) / len2));
        const d = Math.hypot(prev.x + t * dx - q.x, prev.y + t * dy - q.y);
        if (d < bestEdgeD && t > 0 && t < 1) {
          bestEdgeD = d;
          // interpolated in lon/lat: at the zooms a planner edits, the projection is linear over an edge
          bestEdge = { at: [prev.p[0]! + t * (p[0]! - prev.p[0]!), prev.p[1]! + t * (p[1]! - prev.p[1]!)], kind: g.kind, vertex: false };
        }
      }
      prev = { ...s, p };
    }
  }
  return bestVertex ?? bestEdge;
}
