import type { Feature, FeatureCollection, MultiPolygon, Polygon, Position } from 'geojson';

/** What every grid carries, as `PlanGrid.properties` on the server. */
export interface GridProps {
  code: string;
  name: string;
}

export type GridGeometry = Polygon | MultiPolygon;
export type GridFeature = Feature<GridGeometry, GridProps>;
export type GridCollection = FeatureCollection<GridGeometry, GridProps>;

/** A TopoJSON Polygon or MultiPolygon of the `grids` collection (no transform: arcs hold absolute lon/lat). */
export type TopoGrid =
  | { type: 'Polygon'; arcs: number[][]; properties: GridProps; id?: string | number }
  | { type: 'MultiPolygon'; arcs: number[][][]; properties: GridProps; id?: string | number };

/** The TopoJSON Topology of one community's grids. Arcs are never quantized or delta-encoded. */
export interface GridTopology {
  type: 'Topology';
  bbox?: number[];
  arcs: Position[][];
  objects: { grids: { type: 'GeometryCollection'; geometries: TopoGrid[] } };
}

/** [minLon, minLat, maxLon, maxLat] */
export type Box = readonly [number, number, number, number];

export interface PlanOptions {
  /**
   * When true, the outer boundary of the grids (arcs used by one grid only) is fixed: vertices on it cannot be
   * moved or deleted, and only points on it can be inserted. Use it when the grids already tile the community.
   */
  readonly lockBoundary: boolean;
  /**
   * Degrees. In `fromGrids`, vertices closer than this are unified and a vertex this close to another grid's edge
   * is inserted into that edge (so borders that nearly match become shared arcs). Edits refuse to bring a vertex
   * this close to another vertex or edge. 1e-9° ≈ 0.1 mm. 0 turns the snapping off (exact matches only).
   */
  readonly tolerance: number;
}

/**
 * One community's plan. Immutable: every edit returns a new state that shares what it did not change.
 * Invariant: `features[i]` is `topology.objects.grids.geometries[i]` rebuilt from the arcs (topojson-client `feature`).
 * Do not serialise a PlanState (it links to the state before it); serialise `toGrids(state)` and the `History`.
 */
export interface PlanState {
  readonly topology: GridTopology;
  /** The polygons of the grids, in the order of the topology's geometries. */
  readonly features: readonly GridFeature[];
  readonly indexByCode: ReadonlyMap<string, number>;
  /** For each arc, the indexes (into `features`) of the grids whose rings use it, ascending. */
  readonly arcUsers: readonly (readonly number[])[];
  /** For each arc, its bounding box. */
  readonly arcBoxes: readonly Box[];
  readonly options: PlanOptions;
  /** The codes whose polygons the edit that made this state changed or added (all of them for `fromGrids`). */
  readonly changed: readonly string[];
  /** The codes the edit that made this state removed (a merge). */
  readonly removed: readonly string[];
  /** The state this one was made from by `edit` (null for `fromGrids`); `undo` returns it. */
  readonly prior: PlanState | null;
  readonly edit: Edit | null;
}

export type LonLat = [number, number];

export interface MoveVertexArgs { arc: number; index: number; to: LonLat; /** checked when given: the vertex's position now */ from?: LonLat }
export interface InsertVertexArgs { arc: number; /** the new vertex goes between `after` and `after + 1` */ after: number; at: LonLat }
export interface DeleteVertexArgs { arc: number; index: number; from?: LonLat }
export interface SplitGridArgs { code: string; line: LonLat[]; newCode: string; newName: string }
export interface MergeGridsArgs { codes: [string, string]; code: string; /** default: the name of the grid whose code is kept, else the first's */ name?: string }
export interface MoveBlockArgs { from: string; to: string; piece: Polygon }
export interface RenameArgs { code: string; name: string }
export interface RecodeArgs { code: string; newCode: string }
/**
 * Grids given whole: each replaces the grid of its code (or is added); `remove` drops grids. For what has no
 * vertex-by-vertex form: a validation fix, a grid redrawn, grids loaded from a file.
 */
export interface SetGridsArgs { grids: GridFeature[]; remove?: string[] }

/** A serialisable (JSON) description of an edit, as kept in the draft's history on the server. */
export type Edit =
  | ({ kind: 'moveVertex' } & MoveVertexArgs)
  | ({ kind: 'insertVertex' } & InsertVertexArgs)
  | ({ kind: 'deleteVertex' } & DeleteVertexArgs)
  | ({ kind: 'splitGrid' } & SplitGridArgs)
  | ({ kind: 'mergeGrids' } & MergeGridsArgs)
  | ({ kind: 'moveBlock' } & MoveBlockArgs)
  | ({ kind: 'rename' } & RenameArgs)
  | ({ kind: 'recode' } & RecodeArgs)
  | ({ kind: 'setGrids' } & SetGridsArgs);

export type EditKind = Edit['kind'];

export const PLAN_ERROR_CODES = [
  'INVALID_INPUT', // fromGrids: not a FeatureCollection of Polygon/MultiPolygon grids with code and name, or a ring < 3 points
  'DUPLICATE_CODE', // fromGrids: two grids with one code
  'UNKNOWN_EDIT', // apply: no such kind, or arguments of the wrong shape
  'NO_SUCH_GRID',
  'NO_SUCH_ARC',
  'NO_SUCH_VERTEX',
  'STALE_EDIT', // the edit's `from` is not where the vertex is
  'CODE_TAKEN',
  'BAD_NAME',
  'BAD_CODE',
  'BOUNDARY_LOCKED', // the edit would change the outer boundary of a state with lockBoundary
  'NODE_NOT_DELETABLE', // a vertex where arcs meet (3+ grids, or the outer boundary) cannot be deleted
  'RING_TOO_SMALL', // a ring would keep fewer than 3 distinct points
  'EDGES_CROSS', // a changed edge would cross, overlap or come within `tolerance` of another edge
  'VERTEX_COINCIDENT', // a vertex would land on (within `tolerance` of) another vertex
  'SWEEPS_OVER', // the vertex would jump over another vertex (a border or an enclave) without crossing an edge
  'RING_FLIPPED', // a ring would turn inside out (or lose its area)
  'BAD_LINE', // a split line with < 2 points or bad coordinates
  'LINE_SELF_INTERSECTS',
  'LINE_NOT_ACROSS', // the line does not cut the grid in two
  'LINE_SPLITS_MANY', // the line cuts the grid into more than two pieces
  'SAME_GRID',
  'NOT_NEIGHBOURS', // the grids share no border
  'BAD_PIECE', // the piece is not a valid polygon
  'PIECE_EMPTY', // the piece does not overlap the grid it comes from
  'PIECE_COVERS_GRID', // the piece takes all of the grid (merge instead)
  'PIECE_NOT_ADJACENT', // a part of the piece would not touch the grid it goes to
  'NOTHING_TO_UNDO',
  'NOTHING_TO_REDO',
  'UNDO_UNAVAILABLE', // the state is not the one the history's last edit made, and no base state was given
] as const;
export type PlanErrorCode = (typeof PLAN_ERROR_CODES)[number];

/** Thrown by every edit that cannot be done; `code` is stable, `message` is for developers. */
export class PlanEditError extends Error {
  readonly code: PlanErrorCode;
  readonly details: Record<string, unknown> | undefined;
  constructor(code: PlanErrorCode, message: string, details?: Record<string, unknown>) {
    super(`${code}: ${message}`);
    this.name = 'PlanEditError';
    this.code = code;
    this.details = details;
  }
}

export function fail(code: PlanErrorCode, message: string, details?: Record<string, unknown>): never {
  throw new PlanEditError(code, message, details);
}
