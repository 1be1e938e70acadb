import {
  CLUSTER_CELL_UNITS, areasBand, buildingsBand, extentOf, gridsBand, incidentsClustered, incidentsIndividual, labelsBand, majorRoadsBand,
  respondersClustered, respondersIndividual, roadsBand,
} from './tiles.bands.query.js';

/**
 * The vector-tile layers, as data: every table, column and SQL fragment of a tile query comes from
 * here (an allow-list), never from the request. Only z/x/y reach the SQL, as bound parameters.
 *
 * Zoom ranges and generalisation (tiles of 4096 units; "px" is a pixel of a 512-px tile = 8 units).
 * At a layer's maximum zoom nothing is generalised: every feature meeting the buffered tile
 * envelope is present, its geometry only snapped to the 4096 grid. Below it:
 *
 * | layer      | zooms | below the maximum zoom                                                        | max zoom |
 * |------------|-------|-------------------------------------------------------------------------------|----------|
 * | areas      | 0–16  | simplified by 2 units; polygons under 4×4 units dropped                        | 16       |
 * | grids      | 8–16  | simplified by 2 units                                                           | 16       |
 * | area-labels| 10–16 | one point per area (its pole of inaccessibility), never generalised             | 16       |
 * | grid-labels| 12–16 | one point per grid, likewise                                                    | 16       |
 * | buildings  | 13–16 | z13: ≥ 2×2 px, simplified 4 units, largest 2,500; z14: ≥ 1 px², 2 units,        | 16       |
 * |            |       | largest 4,000; z15: simplified 1 unit, largest 4,500                            |          |
 * | roads      | 8–16  | z8–12: motorway/trunk/primary/secondary/tertiary (+ links) only, segments of   | 16       |
 * |            |       | one named road merged (no `id`), 2 units; z13–15: all classes, 1 unit           |          |
 * | incidents  | 8–16  | z8–14: clustered on a 512-unit grid (`clustered`, `count`, `openCount`,        | 16       |
 * |            |       | `urgentCount` = open urgent only); one incident in a cell shows itself. z15: all |          |
 * | responders | 10–16 | z10–12: clustered like incidents (`availableCount`, `busyCount`);              | 16       |
 * |            |       | z13–15: all, like z16                                                           |          |
 *
 * "Largest N" caps a tile by area (ties broken by id) so no tile of a dense district exceeds
 * ~500 kB; neighbouring tiles may then cut off at different sizes, which is acceptable at zooms
 * where those buildings are a pixel or two. Tiles outside a layer's zoom range are empty (204).
 */

export const TILE_EXTENT = 4096;

/**
 * Geometry is clipped this many units beyond the buffer. A feature that only just meets the
 * buffered envelope keeps a part wide enough to survive snapping to the grid, so "every feature
 * meeting the buffered envelope" holds at the maximum zoom.
 */
export const CLIP_MARGIN_UNITS = 8;

export const TILE_LAYER_IDS = ['areas', 'grids', 'buildings', 'roads', 'incidents', 'responders', 'area-labels', 'grid-labels'] as const;
export type TileLayerId = (typeof TILE_LAYER_IDS)[number];

export type FieldType = 'String' | 'Number' | 'Boolean';

/**
 * SQL selecting one tile's features for a range of zooms. It runs after a CTE `bounds` with
 * one row: `env` (tile envelope, EPSG:3857), `benv` (envelope plus buffer: features meeting it are
 * in the tile), `benv4326`, `cenv` (`benv` plus CLIP_MARGIN_UNITS: geometry is clipped to it),
 * `unit` (metres of EPSG:3857 per tile unit) and `z`. It yields the layer's property columns
 * (camelCase, named as in `TileLayerDef.fields`) and `geom` (EPSG:3857, clipped to `cenv`).
 */
export interface TileBand {
  fromZoom: number;
  sql: string;
}

export interface TileLayerDef {
  id: TileLayerId;
  description: string;
  minzoom: number;
  maxzoom: number;
  geometry: 'polygon' | 'line' | 'point';
  /** Tile units drawn beyond each edge, so strokes and icons continue across tiles. */
  bufferUnits: number;
  /** The properties every band yields (as columns of these names) and their TileJSON types. */
  fields: Record<string, FieldType>;
  /** Bands by ascending `fromZoom`; the first starts at `minzoom`. */
  bands: TileBand[];
  /**
   * One row: x1, y1, x2, y2 of the layer's data (EPSG:4326) within the scope bound as $1 (when
   * `scoped`; roads are not), or nulls when empty.
   */
  extent: { sql: string; scoped: boolean };
}

export const TILE_LAYERS: Record<TileLayerId, TileLayerDef> = {
  areas: {
    id: 'areas',
    description: 'Districts (区), streets (街道) and communities (社区)',
    minzoom: 0,
    maxzoom: 16,
    geometry: 'polygon',
    bufferUnits: 64,
    fields: { id: 'String', code: 'String', name: 'String', level: 'String' },
    bands: [
      { fromZoom: 0, sql: areasBand(2, 16) },
      { fromZoom: 16, sql: areasBand(0, 0) },
    ],
    extent: extentOf('areas', 'geom', 'byCode'),
  },
  grids: {
    id: 'grids',
    description: 'Grids (网格)',
    minzoom: 8,
    maxzoom: 16,
    geometry: 'polygon',
    bufferUnits: 64,
    fields: { id: 'String', code: 'String', name: 'String', communityCode: 'String' },
    bands: [
      { fromZoom: 8, sql: gridsBand(2) },
      { fromZoom: 16, sql: gridsBand(0) },
    ],
    extent: extentOf('grids', 'geom', 'byCode'),
  },
  'area-labels': {
    id: 'area-labels',
    description: 'Where the names of districts, streets and communities are written: one point per area',
    minzoom: 10,
    maxzoom: 16,
    geometry: 'point',
    bufferUnits: 64,
    fields: { id: 'String', code: 'String', name: 'String', level: 'String' },
    bands: [{ fromZoom: 10, sql: labelsBand('areas') }],
    extent: extentOf('areas', 'geom', 'byCode'),
  },
  'grid-labels': {
    id: 'grid-labels',
    description: 'Where the names of grids are written: one point per grid',
    minzoom: 12,
    maxzoom: 16,
    geometry: 'point',
    bufferUnits: 64,
    fields: { id: 'String', code: 'String', name: 'String' },
    bands: [{ fromZoom: 12, sql: labelsBand('grids') }],
    extent: extentOf('grids', 'geom', 'byCode'),
  },
  buildings: {
    id: 'buildings',
    description: 'Building footprints',
    minzoom: 13,
    maxzoom: 16,
    geometry: 'polygon',
    bufferUnits: 64,
    fields: { id: 'String', name: 'String', householdCount: 'Number', floors: 'Number', gridId: 'String' },
    bands: [
      { fromZoom: 13, sql: buildingsBand({ simplifyUnits: 4, minAreaUnits2: 256, cap: 2500 }) },
      { fromZoom: 14, sql: buildingsBand({ simplifyUnits: 2, minAreaUnits2: 64, cap: 4000 }) },
      { fromZoom: 15, sql: buildingsBand({ simplifyUnits: 1, minAreaUnits2: 0, cap: 4500 }) },
      { fromZoom: 16, sql: buildingsBand({ simplifyUnits: 0, minAreaUnits2: 0 }) },
    ],
    extent: extentOf('buildings', 'geom', { byGrid: 'grid_id' }),
  },
  roads: {
    id: 'roads',
    description: 'Road centrelines',
    minzoom: 8,
    maxzoom: 16,
    geometry: 'line',
    bufferUnits: 64,
    fields: { id: 'String', name: 'String', class: 'String', bridge: 'Boolean', tunnel: 'Boolean', layer: 'Number' },
    bands: [
      { fromZoom: 8, sql: majorRoadsBand(2) },
      { fromZoom: 13, sql: roadsBand(1) },
      { fromZoom: 16, sql: roadsBand(0) },
    ],
    extent: extentOf('roads', 'geom', 'unscoped'),
  },
  incidents: {
    id: 'incidents',
    description: 'Incidents; clustered below z15',
    minzoom: 8,
    maxzoom: 16,
    geometry: 'point',
    bufferUnits: CLUSTER_CELL_UNITS,
    fields: {
      id: 'String', category: 'String', priority: 'String', status: 'String', reportedAt: 'Number', gridId: 'String',
      nearBorder: 'Boolean', open: 'Boolean', clustered: 'Boolean', count: 'Number', openCount: 'Number', urgentCount: 'Number',
    },
    bands: [
      { fromZoom: 8, sql: incidentsClustered() },
      { fromZoom: 15, sql: incidentsIndividual() },
    ],
    extent: extentOf('incidents', 'location', { byGrid: 'grid_id' }),
  },
  responders: {
    id: 'responders',
    description: 'Responders at their last known position; clustered below z13',
    minzoom: 10,
    maxzoom: 16,
    geometry: 'point',
    bufferUnits: CLUSTER_CELL_UNITS,
    fields: {
      id: 'String', kind: 'String', status: 'String', name: 'String', positionAt: 'Number', homeGridId: 'String',
      clustered: 'Boolean', count: 'Number', availableCount: 'Number', busyCount: 'Number',
    },
    bands: [
      { fromZoom: 10, sql: respondersClustered() },
      { fromZoom: 13, sql: respondersIndividual() },
    ],
    extent: extentOf('responders', 'position', { byGrid: 'home_grid_id' }),
  },
};

export function isTileLayerId(id: string): id is TileLayerId {
  return (TILE_LAYER_IDS as readonly string[]).includes(id);
}

/** The band serving zoom z, or undefined outside the layer's zoom range. */
export function bandAt(def: TileLayerDef, z: number): TileBand | undefined {
  if (z < def.minzoom || z > def.maxzoom) return undefined;
  let found: TileBand | undefined;
  for (const band of def.bands) if (band.fromZoom <= z) found = band;
  return found;
}
