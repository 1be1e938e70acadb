/**
 * The grid planner's edit engine: pure functions, no DOM, no map.
 *
 * How borders stay shared
 * -----------------------
 * A community's grids must tile it. `fromGrids` turns the grids into a TopoJSON topology (topojson-server
 * `topology`, NO quantization: coordinates are kept bit for bit). A border two grids share point for point
 * becomes ONE arc that both grids' rings reference, so an edit of that border is an edit of one arc and both
 * grids follow by construction; no gap or overlap can open between them. Nearly matching input borders are
 * snapped first (within `tolerance`, 1e-9° ≈ 0.1 mm: vertices unified, T-junctions inserted). Polygons are
 * rebuilt from the arcs with topojson-client `feature`; the state keeps them (`state.features`).
 *
 * The edits (each `(state, args) => state`, pure; an impossible edit throws PlanEditError with a stable `code`)
 * - moveVertex {arc, index, to}: moves a vertex of an arc. Inside the arc: the one or two grids using the arc
 *   change. An end of the arc is a node (3+ grids, or the outer boundary): every arc ending there moves.
 * - insertVertex {arc, after, at} / deleteVertex {arc, index}: add or remove a vertex of an arc (nodes cannot be
 *   deleted; no ring may keep fewer than 3 distinct points).
 *   The three vertex edits copy only the touched arcs and rebuild only the grids using them (`rebuildTouched`),
 *   and refuse a result where edges cross or touch (EDGES_CROSS), a vertex lands on another (VERTEX_COINCIDENT),
 *   the move jumps over another vertex, say a whole enclave (SWEEPS_OVER), or a ring turns inside out
 *   (RING_FLIPPED): the arcs stay a planar arrangement, so the grids keep tiling what they tiled.
 *   With `lockBoundary` the outer boundary of the grids cannot change (BOUNDARY_LOCKED).
 * - splitGrid {code, line, newCode, newName}: the line (ends outside the grid or on its border) is cut into the
 *   grid: where it meets the border the point is inserted into the arc (the neighbour gets it too), the grid's
 *   rings and the line's inside parts are arranged into faces (faces.ts; @turf/polygonize 7 drops holes, so it
 *   is not used), the face left of the line keeps the code, the right one gets newCode; then the topology is
 *   rebuilt from the grids (exact coordinates, no quantization), so the new border is one arc shared by the two
 *   parts and the neighbours' arcs are split at the new nodes. Rebuilds split rings that pass twice through a
 *   point into simple rings first (rings.ts), because topojson-server cannot share the loop of such a ring.
 * - mergeGrids {codes: [a, b], code, name?}: topojson-client `merge` of two grids that share an arc.
 * - moveBlock {from, to, piece}: the piece's boundary cuts `from` like a split line; the faces inside the piece
 *   are merged (topojson `merge`) into `to`, which they must touch.
 * - rename {code, name}, recode {code, newCode}: properties only.
 * - setGrids {grids, remove?}: whole grids replaced, added or removed, the topology rebuilt from all (a validation
 *   fix, a grid redrawn, grids loaded from a file); the result is validated like any edit.
 *
 * History: edits are JSON (`Edit`, `{kind: 'moveVertex', ...args}`); `apply(state, edit)` is deterministic, so
 * replaying the draft's undo stack from the base version gives the current state exactly; each state also
 * remembers the one it came from, so `undo` is exact and instant.
 *
 * `vertices`, `midpoints`, `arcsOf`, `neighbours` feed the map's handles; `partitionReport` measures gaps,
 * overlaps and pieces outside the community (turf) for quick feedback (the server's validate is the authority);
 * `timeRebuild` times an edit's rebuild against the whole community's.
 */
export * from './types.js';
export { fromGrids, toGrids, rebuildTouched, rebuildAll, gridsUsing, DEFAULT_OPTIONS } from './state.js';
export {
  apply,
  commit,
  undo,
  redo,
  replay,
  emptyHistory,
  moveVertex,
  insertVertex,
  deleteVertex,
  splitGrid,
  mergeGrids,
  moveBlock,
  rename,
  recode,
  setGrids,
  type History,
  type Step,
} from './history.js';
export { vertices, midpoints, arcsOf, neighbours, type VertexHandle, type MidpointHandle, type ArcInfo } from './handles.js';
export { partitionReport, type PartitionReport, type Piece, type ReportOptions } from './report.js';
export { timeRebuild, timeEdit, type RebuildTiming } from './bench.js';
