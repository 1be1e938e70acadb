import { CLIP_MARGIN_UNITS, TILE_EXTENT, TILE_LAYERS, bandAt, type TileBand, type TileLayerDef, type TileLayerId } from './tiles.layers.js';

/**
 * The SQL of one tile: text with numbered parameters ($1–$3 z/x/y, $4 the scope), not built with
 * Kysely, because one statement serves both encoders (wrapped in ST_AsMVT or not) and the
 * benchmark runs it as is; every spliced part comes from the layer table, never from a request.
 */
export interface TileQuery {
  /** Names the statement's text (layer, band, encoder): the same name is always the same text. */
  name: string;
  text: string;
  values: [z: number, x: number, y: number, scope: string];
  /**
   * `native`: one row, `mvt` (bytea; empty when the tile has no feature).
   * `rows`: one row per feature: the layer's columns plus `geom`, GeoJSON in tile coordinates.
   */
  output: 'native' | 'rows';
}

/**
 * The exact SQL and parameters that serve tile `layer/z/x/y`, or undefined when z is outside the
 * layer's zoom range (the tile is empty). With `native`, PostGIS encodes the tile (ST_AsMVTGeom +
 * ST_AsMVT); without, it returns features already in tile coordinates for the Node encoder.
 * Both select the same features (the native SQL needs PostGIS built with protobuf). z/x/y must
 * be a valid tile address (see parseTileAddress). The benchmark runs this SQL directly.
 */
export function tileQuery(
  layer: TileLayerId,
  z: number,
  x: number,
  y: number,
  opts: { native: boolean; scope?: string },
): TileQuery | undefined {
  const def = TILE_LAYERS[layer];
  const band = bandAt(def, z);
  if (!band) return undefined;
  const name = `tile-${layer}-${def.bands.indexOf(band)}-${opts.native ? 'mvt' : 'rows'}`;
  let text = texts.get(name);
  if (text === undefined) texts.set(name, (text = tileText(def, band, opts.native)));
  return { name, text, values: [z, x, y, opts.scope ?? '*'], output: opts.native ? 'native' : 'rows' };
}

/** Statement texts by name: built once each. */
const texts = new Map<string, string>();

function tileText(def: TileLayerDef, band: TileBand, native: boolean): string {
  const head = `WITH bounds AS (
    SELECT e.env, ST_Expand(e.env, ${def.bufferUnits} * e.unit) AS benv,
           ST_Transform(ST_Expand(e.env, ${def.bufferUnits} * e.unit), 4326) AS benv4326,
           ST_Expand(e.env, ${def.bufferUnits + CLIP_MARGIN_UNITS} * e.unit) AS cenv,
           ST_XMin(e.env) AS x0, ST_YMax(e.env) AS y0, e.unit, $1::int AS z, $4::text AS scope
      FROM (SELECT t.env, (ST_XMax(t.env) - ST_XMin(t.env)) / ${TILE_EXTENT}.0 AS unit
              FROM (SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS env) t) e
  ), features AS (
    ${band.sql}
  )`;
  const columns = Object.keys(def.fields).map((c) => `f."${c}"`).join(', ');
  return native ? `${head}
  SELECT ST_AsMVT(m, '${def.id}', ${TILE_EXTENT}, 'geom') AS mvt
    FROM (SELECT ${columns}, ST_AsMVTGeom(f.geom, b.env, ${TILE_EXTENT}, ${def.bufferUnits + CLIP_MARGIN_UNITS}, true) AS geom
            FROM features f, bounds b) m` : `${head}
  SELECT ${columns}, ST_AsGeoJSON(v.g, 0, 0) AS geom
    FROM features f, bounds b,
         LATERAL (SELECT ${toTileUnits()} AS g OFFSET 0) s,
         LATERAL (SELECT ${repaired(def, 's.g')} AS g OFFSET 0) v
   WHERE v.g IS NOT NULL AND NOT ST_IsEmpty(v.g)`;
}

/** EPSG:3857 → tile units (y down), snapped to the integer grid as ST_AsMVTGeom does. */
function toTileUnits(): string {
  const affine = 'ST_Affine(f.geom, 1 / b.unit, 0, 0, -1 / b.unit, -b.x0 / b.unit, b.y0 / b.unit)';
  return `ST_SnapToGrid(${affine}, 1)`;
}

/**
 * What ST_AsMVTGeom guarantees beyond snapping: polygons valid (snapping can make them invalid)
 * and exterior rings of positive surveyor's area in tile units, as the MVT spec requires (PostGIS
 * calls that counter-clockwise, reading y upwards). The tests compare both paths ring by ring.
 */
function repaired(def: TileLayerDef, g: string): string {
  if (def.geometry !== 'polygon') return g;
  return `ST_ForcePolygonCCW(CASE WHEN ST_IsValid(${g}) THEN ${g} ELSE ST_CollectionExtract(ST_MakeValid(${g}), 3) END)`;
}
