/**
 * The planner's spatial statements over a proposal — a community's grids as the planner drew them
 * (a JSON array of GeoJSON Features with `code` and `name`) — checked against the community and the
 * buildings, incidents and responders stored: validation (issues with their places and fixes) and
 * impact (what changes grid). Hand-written: set operations over the proposal passed as one JSON
 * parameter, dumps, lateral look-ups and metric measures in the community's UTM zone, which the
 * query builder cannot say. Both run on PostGIS 3.3 and on PGlite's 3.6.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';

/** The proposal and the community it tiles, as CTEs `community`, `checked` (every input grid) and `usable` (a valid geometry). */
export const proposal = (communityCode: string, grids: unknown[]) => sql`
  community AS (
    SELECT a.id, a.code, a.geom, 32600 + floor((ST_X(ST_Centroid(a.geom)) + 180) / 6)::int + 1 AS utm
    FROM areas a WHERE a.code = ${communityCode} AND a.level = 'community'
  ),
  input AS (
    SELECT t.ord::int AS ord, t.f->'properties'->>'code' AS code, t.f->'properties'->>'name' AS name,
           ST_SetSRID(ST_GeomFromGeoJSON(t.f->>'geometry'), 4326) AS raw
    FROM jsonb_array_elements(${JSON.stringify(grids)}::jsonb) WITH ORDINALITY AS t(f, ord)
  ),
  checked AS (
    SELECT i.*, ST_IsValid(i.raw) AS ok,
           ST_Multi(CASE WHEN ST_IsValid(i.raw) THEN i.raw ELSE ST_CollectionExtract(ST_MakeValid(i.raw), 3) END) AS geom
    FROM input i
  ),
  usable AS (SELECT ord, code, name, geom FROM checked WHERE NOT ST_IsEmpty(geom))`;

/** Area in square metres (on the spheroid). */
const m2 = (g: ReturnType<typeof sql>) => sql`ST_Area((${g})::geography)`;

export interface IssueRow {
  kind: string;
  severity: 'error' | 'warning';
  message: string;
  grid_codes: string[];
  location: unknown;
  area_m2: number | null;
  fix: { kind: string; description: string; grids: { code: string; geometry: unknown }[] } | null;
  /** the figure the message states: households, a sliver's width in m, parts, grids sharing a code */
  value: number | null;
}

/**
 * Every issue of the proposal, errors first. The fixes carry the replacement geometry of the grids
 * they change (the planner's client applies them as an edit): a gap goes to the neighbour with the
 * longest shared border, an overlap leaves the second grid, a piece outside is clipped off.
 */
export async function validateProposal(db: Db, communityCode: string, grids: unknown[]): Promise<IssueRow[]> {
  return (await validateProposalSql(communityCode, grids).execute(db)).rows;
}

/** The statement of validateProposal (the benchmark runs it bare). */
export function validateProposalSql(communityCode: string, grids: unknown[]) {
  return sql<IssueRow>`
    WITH ${proposal(communityCode, grids)},
    s AS (SELECT * FROM grid_plan_settings),
    parts AS (SELECT u.code, u.geom AS whole, (ST_Dump(u.geom)).geom AS part FROM usable u),
    gaps AS (
      SELECT (ST_Dump(ST_CollectionExtract(ST_Difference(c.geom, coalesce((SELECT ST_Union(geom) FROM usable), ST_SetSRID('GEOMETRYCOLLECTION EMPTY'::geometry, 4326))), 3))).geom AS part
      FROM community c
    ),
    issues AS (
      SELECT 'invalid_geometry' AS kind, 'error' AS severity, 'invalid geometry: ' || (ST_IsValidDetail(k.raw)).reason AS message,
             ARRAY[coalesce(k.code, '')] AS grid_codes, coalesce((ST_IsValidDetail(k.raw)).location, ST_PointOnSurface(k.raw)) AS location,
             NULL::float8 AS area_m2, NULL::jsonb AS fix, NULL::float8 AS value
        FROM checked k WHERE NOT k.ok
      UNION ALL
      SELECT 'multipart', 'warning', 'the grid has ' || ST_NumGeometries(u.geom) || ' separate parts', ARRAY[u.code], u.geom, NULL, NULL, ST_NumGeometries(u.geom)
        FROM usable u WHERE ST_NumGeometries(u.geom) > 1
      UNION ALL
      SELECT 'bad_code', 'error', 'the code must be the community code ' || c.code || ' and 3 digits', ARRAY[coalesce(u.code, '')], ST_PointOnSurface(u.geom), NULL, NULL, NULL
        FROM usable u, community c WHERE u.code IS NULL OR u.code !~ ('^' || c.code || '[0-9]{3}$')
      UNION ALL
      SELECT 'duplicate_code', 'error', 'the code ' || u.code || ' is used by ' || count(*) || ' grids', ARRAY[u.code], ST_PointOnSurface(ST_Collect(u.geom)), NULL, NULL, count(*)
        FROM usable u WHERE u.code IS NOT NULL GROUP BY u.code HAVING count(*) > 1
      UNION ALL
      SELECT 'outside_community', 'error', 'part of the grid lies outside its community', ARRAY[u.code], o.geom, ${m2(sql`o.geom`)},
             jsonb_build_object('kind', 'clip', 'description', 'clip the grid to the community',
               'grids', jsonb_build_array(jsonb_build_object('code', u.code, 'geometry',
                 ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_Intersection(u.geom, c.geom), 3)), 9)::jsonb))), NULL
        FROM usable u, community c, s,
             LATERAL (SELECT ST_CollectionExtract(ST_Difference(u.geom, c.geom), 3) AS geom) o
       WHERE NOT ST_IsEmpty(o.geom) AND ${m2(sql`o.geom`)} > s.gap_overlap_tolerance_m2
      UNION ALL
      SELECT 'overlap', 'error', 'grids ' || a.code || ' and ' || b.code || ' overlap', ARRAY[a.code, b.code], x.geom, ${m2(sql`x.geom`)},
             jsonb_build_object('kind', 'subtract', 'description', 'leave the overlap to ' || a.code,
               'grids', jsonb_build_array(jsonb_build_object('code', b.code, 'geometry',
                 ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_Difference(b.geom, a.geom), 3)), 9)::jsonb))), NULL
        FROM usable a JOIN usable b ON a.ord < b.ord AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom), s,
             LATERAL (SELECT ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS geom) x
       WHERE NOT ST_IsEmpty(x.geom) AND ${m2(sql`x.geom`)} > s.gap_overlap_tolerance_m2
      UNION ALL
      SELECT 'gap', 'error', 'a gap no grid covers', CASE WHEN n.code IS NULL THEN '{}'::text[] ELSE ARRAY[n.code] END, g.part, ${m2(sql`g.part`)},
             CASE WHEN n.code IS NOT NULL THEN jsonb_build_object('kind', 'merge', 'description', 'give the gap to ' || n.code,
               'grids', jsonb_build_array(jsonb_build_object('code', n.code, 'geometry',
                 ST_AsGeoJSON(ST_Multi(ST_CollectionExtract(ST_Union(n.geom, g.part), 3)), 9)::jsonb))) END, NULL
        FROM gaps g CROSS JOIN s
        LEFT JOIN LATERAL (
          SELECT u.code, u.geom FROM usable u
           WHERE u.geom && ST_Expand(g.part, 1e-7) AND ST_Intersects(u.geom, ST_Buffer(g.part, 1e-7))
           ORDER BY ST_Length(ST_Intersection(ST_Boundary(g.part), ST_Buffer(u.geom, 1e-7))::geography) DESC, u.code LIMIT 1
        ) n ON true
       WHERE ${m2(sql`g.part`)} > s.gap_overlap_tolerance_m2
      UNION ALL
      SELECT 'sliver', 'error', 'a sliver: nowhere wider than ' || round((2 * r.radius)::numeric, 1) || ' m', ARRAY[p.code], p.part, ${m2(sql`p.part`)}, NULL, round((2 * r.radius)::numeric, 1)
        FROM parts p, community c, s,
             LATERAL (SELECT (ST_MaximumInscribedCircle(ST_Transform(p.part, c.utm))).radius AS radius) r
       WHERE r.radius < s.sliver_radius_m
      UNION ALL
      SELECT CASE WHEN a.m2 < s.too_small_m2 THEN 'too_small' ELSE 'too_large' END, 'warning',
             'area ' || round(a.m2::numeric) || ' m² is outside ' || s.too_small_m2 || '–' || s.too_large_m2 || ' m²', ARRAY[u.code], u.geom, a.m2, NULL, NULL
        FROM usable u, s, LATERAL (SELECT ${m2(sql`u.geom`)} AS m2) a
       WHERE a.m2 < s.too_small_m2 OR a.m2 > s.too_large_m2
      UNION ALL
      SELECT 'households_out_of_range', 'warning', h.n || ' households, outside ' || s.min_households || '–' || s.max_households, ARRAY[u.code], u.geom, NULL, NULL, h.n
        FROM usable u, s, LATERAL (
          SELECT coalesce(sum(b.households), 0)::int AS n FROM buildings b
           WHERE b.geom && u.geom AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom))
        ) h
       WHERE h.n < s.min_households OR h.n > s.max_households
    )
    SELECT kind, severity, message, grid_codes, ST_AsGeoJSON(location, 9)::jsonb AS location, area_m2, fix, value::float8 AS value
      FROM issues
     ORDER BY severity = 'warning', kind, grid_codes`;
}

export interface ImpactRow {
  grids: { code: string; before: GridCounts; after: GridCounts }[];
  buildings: { id: string; from: string | null; to: string | null }[];
  incidents: { id: string; from: string | null; to: string | null }[];
  responders: { id: string; name: string; from: string; to: string | null }[];
  accounts: { id: string; username: string; from: string; to: string | null }[];
}
export interface GridCounts { buildings: number; households: number; openIncidents: number; responders: number }

/**
 * What the proposal changes: per grid code (in force or proposed) its buildings (by point on
 * surface), households, open incidents (by location) and responders (by home grid) before and
 * after, and each building, open incident, responder and account that changes grid. A responder or
 * account bound to a code the proposal drops goes to its successor (`successors`), else nowhere.
 */
export async function proposalImpact(db: Db, communityCode: string, grids: unknown[], successors: Record<string, string>): Promise<ImpactRow> {
  return (await proposalImpactSql(communityCode, grids, successors).execute(db)).rows[0];
}

/** The statement of proposalImpact (the benchmark runs it bare). */
export function proposalImpactSql(communityCode: string, grids: unknown[], successors: Record<string, string>) {
  return sql<ImpactRow>`
    WITH ${proposal(communityCode, grids)},
    now_grids AS (SELECT g.id, g.code FROM grids g JOIN community c ON g.community_id = c.id),
    succ AS (SELECT key AS old, value AS new FROM jsonb_each_text(${JSON.stringify(successors)}::jsonb)),
    b AS (
      SELECT b.id, b.households, g.code AS before,
             (SELECT u.code FROM usable u WHERE u.geom && b.geom AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom)) ORDER BY u.code LIMIT 1) AS after
        FROM buildings b JOIN community c ON b.geom && c.geom
        LEFT JOIN grids g ON g.id = b.grid_id
       WHERE g.community_id = c.id OR ST_Intersects(c.geom, ST_PointOnSurface(b.geom))
    ),
    i AS (
      SELECT i.id, g.code AS before,
             (SELECT u.code FROM usable u WHERE ST_Intersects(u.geom, i.location) ORDER BY u.code LIMIT 1) AS after
        FROM incidents i JOIN community c ON ST_Intersects(c.geom, i.location)
        LEFT JOIN grids g ON g.id = i.grid_id
       WHERE i.status <> 'closed'
    ),
    r AS (
      SELECT r.id, r.name, n.code AS before,
             CASE WHEN EXISTS (SELECT 1 FROM usable u WHERE u.code = n.code) THEN n.code ELSE (SELECT s.new FROM succ s WHERE s.old = n.code) END AS after
        FROM responders r JOIN now_grids n ON n.id = r.home_grid_id
    ),
    acc AS (
      SELECT u2.id, u2.username, n.code AS before,
             CASE WHEN EXISTS (SELECT 1 FROM usable u WHERE u.code = n.code) THEN n.code ELSE (SELECT s.new FROM succ s WHERE s.old = n.code) END AS after
        FROM users u2 JOIN now_grids n ON n.code = u2.area_code
    ),
    codes AS (SELECT code FROM now_grids UNION SELECT code FROM usable WHERE code IS NOT NULL),
    counts AS (
      SELECT k.code,
        jsonb_build_object(
          'buildings', (SELECT count(*) FROM b WHERE b.before = k.code), 'households', (SELECT coalesce(sum(households), 0) FROM b WHERE b.before = k.code),
          'openIncidents', (SELECT count(*) FROM i WHERE i.before = k.code), 'responders', (SELECT count(*) FROM r WHERE r.before = k.code)) AS before,
        jsonb_build_object(
          'buildings', (SELECT count(*) FROM b WHERE b.after = k.code), 'households', (SELECT coalesce(sum(households), 0) FROM b WHERE b.after = k.code),
          'openIncidents', (SELECT count(*) FROM i WHERE i.after = k.code), 'responders', (SELECT count(*) FROM r WHERE r.after = k.code)) AS after
      FROM codes k
    )
    SELECT
      coalesce((SELECT jsonb_agg(jsonb_build_object('code', code, 'before', before, 'after', after) ORDER BY code) FROM counts), '[]') AS grids,
      coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'from', before, 'to', after) ORDER BY id) FROM b WHERE before IS DISTINCT FROM after), '[]') AS buildings,
      coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'from', before, 'to', after) ORDER BY id) FROM i WHERE before IS DISTINCT FROM after), '[]') AS incidents,
      coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'name', name, 'from', before, 'to', after) ORDER BY id) FROM r WHERE before IS DISTINCT FROM after), '[]') AS responders,
      coalesce((SELECT jsonb_agg(jsonb_build_object('id', id, 'username', username, 'from', before, 'to', after) ORDER BY username) FROM acc WHERE before IS DISTINCT FROM after), '[]') AS accounts`;
}

export interface DiffRow {
  code: string;
  change: 'added' | 'removed' | 'changed' | 'renamed' | 'unchanged';
  name_before: string | null;
  name_after: string | null;
  area_before: number | null;
  area_after: number | null;
  changed_area: number;
  changed: unknown;
}

/**
 * Two versions' grids compared by code: added, removed, changed in shape (with the area that changed
 * hands: the symmetric difference, and its geometry for the map), renamed only, or unchanged.
 */
export async function diffVersions(db: Db, before: unknown[], after: unknown[]): Promise<DiffRow[]> {
  const side = (features: unknown[]) => sql`(
    SELECT f->'properties'->>'code' AS code, f->'properties'->>'name' AS name,
           ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326)) AS geom
      FROM jsonb_array_elements(${JSON.stringify(features)}::jsonb) f)`;
  const { rows } = await sql<DiffRow>`
    WITH a AS ${side(before)}, b AS ${side(after)},
    pairs AS (
      SELECT coalesce(a.code, b.code) AS code, a.name AS name_before, b.name AS name_after, a.geom AS ga, b.geom AS gb
        FROM a FULL JOIN b ON a.code = b.code
    ),
    d AS (
      SELECT p.*, CASE WHEN p.ga IS NULL OR p.gb IS NULL THEN coalesce(p.ga, p.gb)
                       ELSE ST_CollectionExtract(ST_SymDifference(ST_MakeValid(p.ga), ST_MakeValid(p.gb)), 3) END AS sym
        FROM pairs p
    )
    SELECT code,
           CASE WHEN ga IS NULL THEN 'added' WHEN gb IS NULL THEN 'removed'
                WHEN ST_Area(sym::geography) > 1 THEN 'changed'
                WHEN name_before IS DISTINCT FROM name_after THEN 'renamed' ELSE 'unchanged' END AS change,
           name_before, name_after, ST_Area(ga::geography) AS area_before, ST_Area(gb::geography) AS area_after,
           coalesce(ST_Area(sym::geography), 0) AS changed_area,
           CASE WHEN ST_IsEmpty(sym) THEN NULL ELSE ST_AsGeoJSON(sym, 9)::jsonb END AS changed
      FROM d ORDER BY code`.execute(db);
  return rows;
}
