import { codeInScopeText } from '../../auth/scope.repository.js';
import { OPEN_STATUSES } from '../incidents/lifecycle.js';

/**
 * SQL of the generalisation bands of the tile layers (see tiles.layers.ts for the table and for
 * what a band's SQL may use and must yield). Only constants from code are spliced in.
 */

const WORLD_HALF = 20037508.342789244;
const OPEN = OPEN_STATUSES.map((s) => `'${s}'`).join(', ');
const MAJOR_ROADS = ['motorway', 'trunk', 'primary', 'secondary', 'tertiary']
  .flatMap((c) => [c, `${c}_link`])
  .map((c) => `'${c}'`)
  .join(', ');

/** Clips to the clip envelope and, when `units` > 0, simplifies by that many tile units. */
function shaped(geom: string, units: number): string {
  const clipped = `ST_ClipByBox2D(${geom}, b.cenv)`;
  return units > 0 ? `ST_SimplifyPreserveTopology(${clipped}, ${units} * b.unit)` : clipped;
}

/** Rows of `table t` whose 3857 geometry meets the buffered envelope (index-assisted). */
const meets = (col = 't.geom_3857') => `ST_Intersects(${col}, b.benv)`;

/**
 * What the caller may see (the one rule, auth/scope.ts): `b.scope` (bound as $4) is '*' or an
 * area/grid code; a row is in scope when its own code, or the code of the grid holding it, extends
 * that code. Incidents are placed by their grid only (tiles are cached per scope, not per
 * assignee). Roads are basemap geography and not scoped.
 */
const IN_SCOPE = {
  byCode: codeInScopeText('t.code', 'b.scope'),
  byGrid: (col: string) => codeInScopeText(`(SELECT sg.code FROM grids sg WHERE sg.id = ${col})`, 'b.scope'),
};
const SCOPE_OF_TABLE = { incidents: IN_SCOPE.byGrid('t.grid_id'), responders: IN_SCOPE.byGrid('t.home_grid_id') };

export function areasBand(simplifyUnits: number, minAreaUnits2: number): string {
  return `SELECT t.id::text AS "id", t.code AS "code", t.name AS "name", t.level AS "level",
         ${shaped('t.geom_3857', simplifyUnits)} AS geom
    FROM areas t, bounds b
   WHERE ${meets()} AND ${IN_SCOPE.byCode}${minAreaUnits2 > 0 ? ` AND ST_Area(t.geom_3857) >= ${minAreaUnits2} * b.unit * b.unit` : ''}`;
}

export function gridsBand(simplifyUnits: number): string {
  return `SELECT t.id::text AS "id", t.code AS "code", t.name AS "name", c.code AS "communityCode",
         ${shaped('t.geom_3857', simplifyUnits)} AS geom
    FROM grids t JOIN areas c ON c.id = t.community_id, bounds b
   WHERE ${meets()} AND ${IN_SCOPE.byCode}`;
}

/**
 * Label points of areas or grids (migration 0013's `label_3857`): one point per polygon, in the one
 * tile that holds it (and the neighbours whose buffer it falls in: MapLibre places it once).
 */
export function labelsBand(table: 'areas' | 'grids'): string {
  const level = table === 'areas' ? ', t.level AS "level"' : '';
  return `SELECT t.id::text AS "id", t.code AS "code", t.name AS "name"${level}, t.label_3857 AS geom
    FROM ${table} t, bounds b
   WHERE ${meets('t.label_3857')} AND ${IN_SCOPE.byCode}`;
}

export function buildingsBand(opts: { simplifyUnits: number; minAreaUnits2: number; cap?: number }): string {
  const area = opts.minAreaUnits2 > 0 ? ` AND ST_Area(t.geom_3857) >= ${opts.minAreaUnits2} * b.unit * b.unit` : '';
  const cap = opts.cap ? ` ORDER BY ST_Area(t.geom_3857) DESC, t.id LIMIT ${opts.cap}` : '';
  return `SELECT t.id::text AS "id", t.name AS "name", t.households AS "householdCount", t.floors AS "floors",
         t.grid_id::text AS "gridId", ${shaped('t.geom_3857', opts.simplifyUnits)} AS geom
    FROM buildings t, bounds b
   WHERE ${meets()} AND ${IN_SCOPE.byGrid('t.grid_id')}${area}${cap}`;
}

export function roadsBand(simplifyUnits: number): string {
  return `SELECT t.id::text AS "id", t.name AS "name", t.class AS "class", t.bridge AS "bridge", t.tunnel AS "tunnel",
         t.layer::int AS "layer", ${simplifiedLine('t.geom_3857', simplifyUnits)} AS geom
    FROM roads t, bounds b
   WHERE ${meets()}`;
}

/** Major roads only, each named road merged into one feature (its segments' ids are dropped). */
export function majorRoadsBand(simplifyUnits: number): string {
  return `SELECT NULL::text AS "id", m.name AS "name", m.class AS "class", m.bridge AS "bridge", m.tunnel AS "tunnel",
         m.layer AS "layer", ${simplifiedLine('m.geom', simplifyUnits)} AS geom
    FROM (SELECT t.name, t.class, t.bridge, t.tunnel, t.layer::int AS layer, ST_LineMerge(ST_Collect(t.geom_3857)) AS geom
            FROM roads t, bounds b
           WHERE ${meets()} AND t.class IN (${MAJOR_ROADS})
           GROUP BY t.name, t.class, t.bridge, t.tunnel, t.layer) m, bounds b`;
}

function simplifiedLine(geom: string, units: number): string {
  const clipped = `ST_ClipByBox2D(${geom}, b.cenv)`;
  return units > 0 ? `ST_Simplify(${clipped}, ${units} * b.unit, true)` : clipped;
}

// Exact tests: && alone compares float4 boxes, a metre or so wider than the envelope.
const POINTS_IN_TILE = {
  incidents: `ST_Intersects(t.location, b.benv4326) AND ${SCOPE_OF_TABLE.incidents}`,
  responders: `ST_Intersects(t.position, b.benv4326) AND ${SCOPE_OF_TABLE.responders}`,
};

export function incidentsIndividual(where = POINTS_IN_TILE.incidents): string {
  return `SELECT t.id::text AS "id", t.category AS "category", t.priority AS "priority", t.status AS "status",
         floor(extract(epoch FROM t.reported_at))::bigint AS "reportedAt", t.grid_id::text AS "gridId", t.near_border AS "nearBorder",
         (t.status IN (${OPEN})) AS "open", false AS "clustered", 1 AS "count",
         (t.status IN (${OPEN}))::int AS "openCount", (t.priority = 'urgent' AND t.status IN (${OPEN}))::int AS "urgentCount",
         ST_Transform(t.location, 3857) AS geom
    FROM incidents t, bounds b
   WHERE ${where}`;
}

export function respondersIndividual(where = POINTS_IN_TILE.responders): string {
  return `SELECT t.id::text AS "id", t.kind AS "kind", t.status AS "status", t.name AS "name",
         floor(extract(epoch FROM t.position_at))::bigint AS "positionAt", t.home_grid_id::text AS "homeGridId",
         false AS "clustered", 1 AS "count", (t.status = 'available')::int AS "availableCount", (t.status = 'busy')::int AS "busyCount",
         ST_Transform(t.position, 3857) AS geom
    FROM responders t, bounds b
   WHERE ${where}`;
}

/**
 * Aggregates points into cells aligned with the tile grid, so a cell is whole in every tile that
 * shows it and neighbouring tiles agree on its count. Cells are `CLUSTER_CELL_UNITS` wide, or
 * `cellUnitsLowZoom` up to `lowZoomTo` (fewer, calmer bubbles at district zoom). The points read are
 * those within one cell of the tile, so every cell meeting the buffered envelope (the buffer of the
 * point layers is CLUSTER_CELL_UNITS, at most one cell) is read whole; a cell whose centre falls
 * outside the buffered envelope is left out of the tile and shown, whole, by its neighbour.
 * A cell holding a single point shows that point as an individual feature.
 */
export const CLUSTER_CELL_UNITS = 256;
/** Cell of the incident clusters up to z14: a district overview on a wall screen is at z13–14. */
export const INCIDENT_CLUSTER_CELL_UNITS_LOW_ZOOM = 512;
const INCIDENT_LOW_ZOOM_TO = 14;

interface ClusterSpec {
  table: 'incidents' | 'responders';
  geom: string;
  /** Columns of the table the counts read. */
  reads: string[];
  /** Aggregates `... AS name`, in the order of the layer's count columns after `count`. */
  counts: string[];
  /** The individual SELECT, given a WHERE clause. */
  individual: (where: string) => string;
  /** NULLs standing for the individual-only columns between `id` and `clustered`. */
  nulls: string;
  /** A larger cell (a multiple of CLUSTER_CELL_UNITS dividing the tile extent) up to a zoom. */
  lowZoom?: { toZoom: number; cellUnits: number };
}

function clustered(spec: ClusterSpec): string {
  const units = spec.lowZoom
    ? `(CASE WHEN b.z <= ${spec.lowZoom.toZoom} THEN ${spec.lowZoom.cellUnits} ELSE ${CLUSTER_CELL_UNITS} END)`
    : `${CLUSTER_CELL_UNITS}`;
  const cell = `(${units} * b.unit)`;
  // One cell around the tile; equal to benv4326 when the cell is the buffer.
  const within = spec.lowZoom
    ? `ST_Intersects(t.${spec.geom}, ST_Transform(ST_Expand(b.env, ${cell}), 4326)) AND ${SCOPE_OF_TABLE[spec.table]}`
    : POINTS_IN_TILE[spec.table];
  // Cells read beyond the buffer show only in the tile their centre meets.
  const shown = spec.lowZoom ? ' AND ST_Intersects(centre, (SELECT benv FROM bounds))' : '';
  const names = spec.counts.map((c) => `c.${c.split(' AS ')[1]}`).join(', ');
  return `WITH pts AS (
      SELECT p.*, floor((ST_X(p.g) + ${WORLD_HALF}) / ${cell})::bigint AS cx, floor((${WORLD_HALF} - ST_Y(p.g)) / ${cell})::bigint AS cy
        FROM (SELECT t.id, ${spec.reads.map((c) => `t.${c}`).join(', ')}, ST_Transform(t.${spec.geom}, 3857) AS g
                FROM ${spec.table} t, bounds b WHERE ${within}) p, bounds b
    ), cells AS (
      SELECT cx, cy, count(*)::int AS n, (array_agg(id))[1] AS only_id,
             ST_SetSRID(ST_MakePoint(avg(ST_X(g)), avg(ST_Y(g))), 3857) AS centre, ${spec.counts.join(', ')}
        FROM pts GROUP BY cx, cy
    )
    ${spec.individual(`t.id IN (SELECT only_id FROM cells WHERE n = 1${shown})`)}
    UNION ALL
    SELECT format('cluster/%s/%s/%s', b.z, c.cx, c.cy), ${spec.nulls}, true, c.n, ${names}, c.centre
      FROM cells c, bounds b WHERE c.n > 1${shown}`;
}

/**
 * The extent of a table's geometries (EPSG:4326) as the caller sees them: `scoped` like its tile
 * band (the scope bound as $1, the one rule of auth/scope.ts: by the row's own code, or by the code
 * of the grid holding it), or unscoped (roads: basemap geography). A scoped viewer who sees no row
 * of the table gets the extent of their own area or grid instead (nulls for '*' on an empty table).
 */
export function extentOf(table: string, geom: string, scoped: 'byCode' | { byGrid: string } | 'unscoped'): { sql: string; scoped: boolean } {
  const columns = 'ST_XMin(e) AS x1, ST_YMin(e) AS y1, ST_XMax(e) AS x2, ST_YMax(e) AS y2';
  if (scoped === 'unscoped') return { sql: `SELECT ${columns} FROM (SELECT ST_Extent(t.${geom}) AS e FROM ${table} t) s`, scoped: false };
  const inScope = scoped === 'byCode'
    ? codeInScopeText('t.code', '$1::text')
    : codeInScopeText(`(SELECT sg.code FROM grids sg WHERE sg.id = t.${scoped.byGrid})`, '$1::text');
  const own = `SELECT ST_Extent(o.geom) FROM (SELECT geom FROM areas WHERE code = $1::text UNION ALL SELECT geom FROM grids WHERE code = $1::text) o`;
  return {
    sql: `SELECT ${columns} FROM (SELECT coalesce((SELECT ST_Extent(t.${geom}) FROM ${table} t WHERE ${inScope}), (${own})) AS e) s`,
    scoped: true,
  };
}

/**
 * Incidents below the cluster zoom. `urgentCount` counts open urgent incidents only: a closed
 * urgent incident needs no attention, and a bubble must turn red only for one that does.
 */
export const incidentsClustered = () =>
  clustered({
    table: 'incidents',
    geom: 'location',
    reads: ['status', 'priority'],
    counts: [`count(*) FILTER (WHERE status IN (${OPEN}))::int AS open_count`, `count(*) FILTER (WHERE priority = 'urgent' AND status IN (${OPEN}))::int AS urgent_count`],
    individual: incidentsIndividual,
    nulls: 'NULL, NULL, NULL, NULL::bigint, NULL, NULL::boolean, NULL::boolean',
    lowZoom: { toZoom: INCIDENT_LOW_ZOOM_TO, cellUnits: INCIDENT_CLUSTER_CELL_UNITS_LOW_ZOOM },
  });

/** Responders below the cluster zoom. */
export const respondersClustered = () =>
  clustered({
    table: 'responders',
    geom: 'position',
    reads: ['status'],
    counts: [`count(*) FILTER (WHERE status = 'available')::int AS available_count`, `count(*) FILTER (WHERE status = 'busy')::int AS busy_count`],
    individual: respondersIndividual,
    nulls: 'NULL, NULL, NULL, NULL::bigint, NULL',
  });
