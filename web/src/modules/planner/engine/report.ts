/**
 * Quick in-browser checks of a plan against its community, for instant feedback while editing. The server
 * (POST /api/planner/validate) is the authority; this only measures gaps, overlaps and pieces outside with turf.
 */
import type { Feature, MultiPolygon, Polygon } from 'geojson';
import { area, bbox, difference, featureCollection, feature as turfFeature, intersect, union } from '@turf/turf';
import type { PlanState } from './types.js';

type Area = Polygon | MultiPolygon;

export interface Piece {
  geometry: Polygon;
  /** m² */
  area: number;
}

export interface PartitionReport {
  /** m², summed over all pieces */
  gapArea: number;
  overlapArea: number;
  outsideArea: number;
  /** parts of the community no grid covers */
  gaps: Piece[];
  /** parts two grids both cover */
  overlaps: (Piece & { codes: [string, string] })[];
  /** parts of a grid outside the community */
  outside: (Piece & { code: string })[];
  /** every sum within `tolerance` */
  ok: boolean;
}

export interface ReportOptions {
  /** m²: the sums below which the plan is ok (default 1) */
  tolerance?: number;
  /** m²: pieces smaller than this are counted in the sums but not listed (default 0.01) */
  minPiece?: number;
}

function pieces(g: Area | null | undefined, minPiece: number): { list: Piece[]; total: number } {
  if (!g) return { list: [], total: 0 };
  const polys: Polygon[] = g.type === 'Polygon' ? [g] : g.coordinates.map((coordinates) => ({ type: 'Polygon', coordinates }));
  let total = 0;
  const list: Piece[] = [];
  for (const p of polys) {
    const a = area(p);
    total += a;
    if (a >= minPiece) list.push({ geometry: p, area: a });
  }
  return { list, total };
}

function boxesOverlap(a: number[], b: number[]): boolean {
  return a[0]! <= b[2]! && b[0]! <= a[2]! && a[1]! <= b[3]! && b[1]! <= a[3]!;
}

export function partitionReport(community: Area, state: PlanState, options: ReportOptions = {}): PartitionReport {
  const tolerance = options.tolerance ?? 1, minPiece = options.minPiece ?? 0.01;
  const grids = state.features.slice() as Feature<Area>[];
  const communityF = turfFeature(community);
  let covered: Feature<Area> | null = null;
  if (grids.length === 1) covered = grids[0]!;
  else if (grids.length > 1) covered = union(featureCollection(grids));
  const gap = covered ? difference(featureCollection([communityF, covered])) : communityF;
  const gaps = pieces(gap?.geometry, minPiece);
  const outside: PartitionReport['outside'] = [];
  let outsideArea = 0;
  for (const g of grids) {
    const out = pieces(difference(featureCollection([g, communityF]))?.geometry, minPiece);
    outsideArea += out.total;
    for (const p of out.list) outside.push({ ...p, code: g.properties!.code as string });
  }
  const overlaps: PartitionReport['overlaps'] = [];
  let overlapArea = 0;
  const boxes = grids.map((g) => bbox(g));
  for (let i = 0; i < grids.length; i++) {
    for (let j = i + 1; j < grids.length; j++) {
      if (!boxesOverlap(boxes[i]!, boxes[j]!)) continue;
      const both = pieces(intersect(featureCollection([grids[i]!, grids[j]!]))?.geometry, minPiece);
      overlapArea += both.total;
      for (const p of both.list) overlaps.push({ ...p, codes: [grids[i]!.properties!.code as string, grids[j]!.properties!.code as string] });
    }
  }
  return {
    gapArea: gaps.total,
    overlapArea,
    outsideArea,
    gaps: gaps.list,
    overlaps,
    outside,
    ok: gaps.total <= tolerance && overlapArea <= tolerance && outsideArea <= tolerance,
  };
}
