/**
 * One SQL statement per batch and layer: the batch arrives as a JSON array
 * [{ i: feature index, k: key, s: source_id, g: GeoJSON geometry | null, a: attributes }],
 * is converted (ST_GeomFromGeoJSON, ST_Transform from $3 when it is not 4326), checked in
 * PostGIS (range, extent, ST_IsValid, parents), and only the rows that passed are upserted.
 * The result has one row per input element: its rejection reason/detail, or whether it was
 * inserted (true) or updated (false).
 *
 * Parameters: $1 json batch, $2 source, $3 srid of the coordinates, $4 max extent in degrees,
 * $5 round-trip tolerance in the units of $3 (a transform that does not invert is out of its domain).
 */

export interface BatchRow {
  i: number;
  k: string;
  reason: string | null;
  detail: string | null;
  inserted: boolean | null;
}

const PREFIX = (allowNullGeometry: boolean, layerCheck: string) => `
WITH input AS (
  SELECT (e->>'i')::int AS i, e->>'k' AS k, e->>'s' AS s, e->'a' AS a,
         CASE WHEN json_typeof(e->'g') = 'object'
              THEN ST_SetSRID(ST_GeomFromGeoJSON(e->>'g'), $3::int) END AS g0
    FROM json_array_elements($1::json) AS e
), geo AS (
  SELECT i, k, s, a, g0, CASE WHEN $3::int = 4326 THEN g0 ELSE ST_Transform(g0, 4326) END AS g FROM input
), checked AS (
  SELECT i, k, s, a, g, CASE
    WHEN g IS NULL THEN ${allowNullGeometry ? 'NULL' : `ARRAY['missing geometry', 'the feature has no geometry']`}
    WHEN ST_IsEmpty(g) THEN ARRAY['empty geometry', 'the geometry has no points']
    WHEN $3::int <> 4326 AND NOT coalesce((
           SELECT max(ST_Distance(p.geom, q.geom)) <= $5::float8
             FROM ST_DumpPoints(g0) AS p JOIN ST_DumpPoints(ST_Transform(g, $3::int)) AS q ON q.path = p.path), false)
      THEN ARRAY['coordinates out of range', format('outside the domain of EPSG:%s: the transform to WGS84 does not invert', $3::int)]
    WHEN NOT (ST_XMin(g) >= -180 AND ST_XMax(g) <= 180 AND ST_YMin(g) >= -90 AND ST_YMax(g) <= 90)
      THEN ARRAY['coordinates out of range', format('WGS84 extent %s %s %s %s outside lon -180..180, lat -90..90',
                 ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g))]
    WHEN ST_XMax(g) - ST_XMin(g) > $4::float8 OR ST_YMax(g) - ST_YMin(g) > $4::float8
      THEN ARRAY['too large', format('extent %s° × %s° exceeds %s° for this layer',
                 round((ST_XMax(g) - ST_XMin(g))::numeric, 4), round((ST_YMax(g) - ST_YMin(g))::numeric, 4), $4::float8)]
    WHEN NOT ST_IsValid(g)
      THEN ARRAY['invalid geometry: ' || regexp_replace(ST_IsValidReason(g), '\\s*\\[.*\\]\\s*$', ''), ST_IsValidReason(g)]
  END AS rd0
  FROM geo
), layer_checked AS (
  SELECT i, k, s, a, g, coalesce(rd0, CASE ${layerCheck || 'WHEN false THEN NULL::text[]'} END) AS rd FROM checked
)`;

const RESULT = (insertedExpr: string) => `
SELECT c.i, c.k, c.rd[1] AS reason, c.rd[2] AS detail, ${insertedExpr} AS inserted FROM layer_checked c ORDER BY c.i, c.k`;

export const BUILDINGS_SQL = `${PREFIX(false, '')}
, ins AS (
  INSERT INTO buildings AS t (name, address, floors, height_m, geom, source, source_id)
  SELECT a->>'name', a->>'address', (a->>'floors')::int, (a->>'height')::real, ST_Multi(g), $2, s
    FROM layer_checked WHERE rd IS NULL
  ON CONFLICT (source, source_id) DO UPDATE
    SET name = EXCLUDED.name, address = EXCLUDED.address, floors = EXCLUDED.floors,
        height_m = EXCLUDED.height_m, geom = EXCLUDED.geom
  RETURNING t.source_id AS s, (t.xmax::text = '0') AS inserted
)${RESULT('(SELECT ins.inserted FROM ins WHERE ins.s = c.s)')}`;

export const ROADS_SQL = `${PREFIX(false, '')}
, bad AS (SELECT DISTINCT i FROM layer_checked WHERE rd IS NOT NULL)
, ok AS (
  SELECT c.*, (SELECT gr.district_id FROM grids gr WHERE gr.id = grid_at(ST_LineInterpolatePoint(c.g, 0.5))) AS district_id
    FROM layer_checked c WHERE c.rd IS NULL AND c.i NOT IN (SELECT i FROM bad)
), upd AS (
  UPDATE roads r
     SET name = ok.a->>'name', class = ok.a->>'class', bridge = (ok.a->>'bridge')::boolean,
         tunnel = (ok.a->>'tunnel')::boolean, layer = (ok.a->>'layer')::smallint,
         oneway = (ok.a->>'oneway')::boolean, geom = ok.g, district_id = ok.district_id, updated_at = now()
    FROM ok
   WHERE r.source = $2 AND r.source_id = ok.s
  RETURNING ok.s
), ins AS (
  INSERT INTO roads (name, class, bridge, tunnel, layer, oneway, geom, district_id, source, source_id)
  SELECT a->>'name', a->>'class', (a->>'bridge')::boolean, (a->>'tunnel')::boolean, (a->>'layer')::smallint,
         (a->>'oneway')::boolean, g, district_id, $2, s
    FROM ok
   WHERE NOT EXISTS (SELECT 1 FROM roads r WHERE r.source = $2 AND r.source_id = ok.s)
  RETURNING source_id AS s
)${RESULT(`CASE WHEN EXISTS (SELECT 1 FROM ins WHERE ins.s = c.s) THEN true
                WHEN EXISTS (SELECT 1 FROM upd WHERE upd.s = c.s) THEN false END`)}`;

export const AREAS_SQL = `${PREFIX(
  true,
  `WHEN length(a->>'code') > 6 AND NOT EXISTS (
          SELECT 1 FROM areas p WHERE p.code = left(a->>'code', length(a->>'code') - 3))
     THEN ARRAY['parent area not found', 'no area with code ' || left(a->>'code', length(a->>'code') - 3)]`,
)}
, ins AS (
  INSERT INTO areas AS t (code, level, name, geom, source, source_id)
  SELECT a->>'code', CASE length(a->>'code') WHEN 6 THEN 'district' WHEN 9 THEN 'street' ELSE 'community' END,
         a->>'name', ST_Multi(g), $2, s
    FROM layer_checked WHERE rd IS NULL
  ON CONFLICT (code) DO UPDATE
    SET name = EXCLUDED.name, geom = coalesce(EXCLUDED.geom, t.geom),
        source = EXCLUDED.source, source_id = EXCLUDED.source_id
  RETURNING t.code AS k, (t.xmax::text = '0') AS inserted
)${RESULT('(SELECT ins.inserted FROM ins WHERE ins.k = c.k)')}`;

export const GRIDS_SQL = `${PREFIX(
  false,
  `WHEN NOT EXISTS (SELECT 1 FROM areas p WHERE p.code = left(a->>'code', 12) AND p.level = 'community')
     THEN ARRAY['community not found', 'no community (12-digit area) with code ' || left(a->>'code', 12)]`,
)}
, ins AS (
  INSERT INTO grid_records AS t (code, name, community_id, district_id, geom, source, source_id)
  SELECT c.a->>'code', c.a->>'name', p.id, p.district_id, ST_Multi(c.g), $2, c.s
    FROM layer_checked c JOIN areas p ON p.code = left(c.a->>'code', 12) AND p.level = 'community'
   WHERE c.rd IS NULL
  ON CONFLICT (code) WHERE retired_at IS NULL DO UPDATE
    SET name = EXCLUDED.name, community_id = EXCLUDED.community_id, geom = EXCLUDED.geom,
        source = EXCLUDED.source, source_id = EXCLUDED.source_id
  RETURNING t.code AS k, (t.xmax::text = '0') AS inserted
)${RESULT('(SELECT ins.inserted FROM ins WHERE ins.k = c.k)')}`;
