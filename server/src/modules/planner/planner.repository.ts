/**
 * The SQL of grid plans' versions (migration 0018): the community, its versions, publishing one
 * under the community's lock, and applying one — the grids it keeps change in place (their rows,
 * their identity), new ones are added, the ones it drops are retired (never deleted), and the
 * responders and accounts bound to a dropped code move to its successor. The table's triggers move
 * buildings and open incidents into the grids in force and keep each grid's boundary history.
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { seesEverything, type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import type { Db } from '../../db/transaction.js';
import { OPEN_STATUSES } from '../incidents/lifecycle.js';
import { proposal } from './planner.query.js';

export interface Community {
  id: string;
  code: string;
  name: string;
  district_id: string | null;
}

/** The community with this code (level community), if any. */
export async function findCommunity(db: Db, code: string): Promise<Community | undefined> {
  return db.selectFrom('areas').select(['id', 'code', 'name', 'district_id']).where('code', '=', code).where('level', '=', 'community').executeTakeFirst();
}

/** Holds the community's plan for the transaction: publishes and the timer's applications queue on it. */
export async function lockCommunityPlan(trx: Db, communityId: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(hashtext('grid-plan:' || ${communityId}))`.execute(trx);
}

export interface VersionRow {
  id: number;
  version: number;
  effective_from: Date;
  published_at: Date;
  published_by_name: string | null;
  note: string | null;
  applied_at: Date | null;
  grid_count: number;
}

const versionColumns = ['id', 'version', 'effective_from', 'published_at', 'published_by_name', 'note', 'applied_at'] as const;

/** The community's versions, oldest first. */
export async function listVersions(db: Db, communityId: string): Promise<VersionRow[]> {
  return db.selectFrom('grid_plan_versions')
    .select([...versionColumns, sql<number>`jsonb_array_length(grids->'features')`.as('grid_count')])
    .where('community_id', '=', communityId).orderBy('version').execute();
}

/** The latest version (applied or not), undefined before the first plan. */
export async function latestVersion(db: Db, communityId: string): Promise<VersionRow | undefined> {
  return db.selectFrom('grid_plan_versions')
    .select([...versionColumns, sql<number>`jsonb_array_length(grids->'features')`.as('grid_count')])
    .where('community_id', '=', communityId).orderBy('version', 'desc').limit(1).executeTakeFirst();
}

/** One version's grids as published (a FeatureCollection), undefined when there is no such version. */
export async function versionGrids(db: Db, communityId: string, version: number): Promise<{ type: 'FeatureCollection'; features: unknown[] } | undefined> {
  const row = await db.selectFrom('grid_plan_versions').select('grids').where('community_id', '=', communityId).where('version', '=', version).executeTakeFirst();
  return row?.grids as { type: 'FeatureCollection'; features: unknown[] } | undefined;
}

/** The community's grids in force as a FeatureCollection (code, name; 9 decimals). */
export async function gridsInForce(db: Db, communityId: string): Promise<{ type: 'FeatureCollection'; features: unknown[] }> {
  const { rows } = await sql<{ fc: { type: 'FeatureCollection'; features: unknown[] } }>`
    SELECT jsonb_build_object('type', 'FeatureCollection', 'features', coalesce(jsonb_agg(jsonb_build_object(
             'type', 'Feature', 'properties', jsonb_build_object('code', g.code, 'name', g.name),
             'geometry', ST_AsGeoJSON(g.geom, 9)::jsonb) ORDER BY g.code), '[]'::jsonb)) AS fc
      FROM grids g WHERE g.community_id = ${communityId}`.execute(db);
  return rows[0].fc;
}

/** Codes in force in the community that the proposal drops, with the responders and accounts bound to each. */
export async function boundDroppedCodes(db: Db, communityId: string, keptCodes: string[]): Promise<{ code: string; responders: number; accounts: number }[]> {
  const { rows } = await sql<{ code: string; responders: number; accounts: number }>`
    SELECT g.code,
           (SELECT count(*)::int FROM responders r WHERE r.home_grid_id = g.id) AS responders,
           (SELECT count(*)::int FROM users u WHERE u.area_code = g.code) AS accounts
      FROM grids g
     WHERE g.community_id = ${communityId} AND NOT (g.code = ANY(${keptCodes}::text[]))
     ORDER BY g.code`.execute(db);
  return rows.filter((r) => r.responders > 0 || r.accounts > 0);
}

/** Records a version; returns its id. */
export async function insertVersion(
  trx: Db,
  v: { communityId: string; version: number; effectiveFrom: Date; userId: string | null; userName: string | null; note: string; grids: unknown; successors: Record<string, string>; applied: boolean },
): Promise<number> {
  const row = await trx.insertInto('grid_plan_versions').values({
    community_id: v.communityId, version: v.version, effective_from: v.effectiveFrom, published_by: v.userId, published_by_name: v.userName,
    note: v.note, grids: JSON.stringify(v.grids), successors: JSON.stringify(v.successors), applied_at: v.applied ? sql`now()` : null,
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Applies a version to the grids (see the file comment), in the caller's transaction, which holds
 * the community's lock: retire, change in place, add, move the bound ones to successors, name the
 * version on the boundary spans it began, and mark it applied.
 */
export async function applyVersion(trx: Db, versionId: number): Promise<AppliedVersion> {
  const plan = sql`(
    SELECT f->'properties'->>'code' AS code, f->'properties'->>'name' AS name,
           ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON(f->>'geometry'), 4326)) AS geom
      FROM grid_plan_versions v, jsonb_array_elements(v.grids->'features') f WHERE v.id = ${versionId})`;
  const community = sql`(SELECT community_id FROM grid_plan_versions WHERE id = ${versionId})`;
  await sql`
    UPDATE grid_records g SET retired_at = now(), updated_at = now()
     WHERE g.community_id = ${community} AND g.retired_at IS NULL AND g.code NOT IN (SELECT code FROM ${plan} p)`.execute(trx);
  await sql`
    UPDATE grid_records g SET geom = p.geom, name = p.name, updated_at = now()
      FROM ${plan} p
     WHERE g.code = p.code AND g.community_id = ${community} AND g.retired_at IS NULL
       AND (g.name <> p.name OR ST_AsBinary(g.geom) <> ST_AsBinary(p.geom))`.execute(trx);
  await sql`
    INSERT INTO grid_records (code, name, community_id, geom, source)
    SELECT p.code, p.name, ${community}, p.geom, 'plan'
      FROM ${plan} p
     WHERE NOT EXISTS (SELECT 1 FROM grid_records g WHERE g.code = p.code AND g.retired_at IS NULL)`.execute(trx);
  // The responders and accounts of a retired code go to its successor (a code in force now).
  const moves = sql`(
    SELECT old.id AS old_id, old.code AS old_code, new.id AS new_id, new.code AS new_code
      FROM grid_plan_versions v, jsonb_each_text(v.successors) s
      JOIN grid_records old ON old.code = s.key AND old.retired_at = now()
      JOIN grids new ON new.code = s.value
     WHERE v.id = ${versionId})`;
  await sql`UPDATE responders r SET home_grid_id = m.new_id, updated_at = now() FROM ${moves} m WHERE r.home_grid_id = m.old_id`.execute(trx);
  await sql`UPDATE users u SET area_code = m.new_code FROM ${moves} m WHERE u.area_code = m.old_code`.execute(trx);
  await sql`
    UPDATE grid_boundaries b SET version_id = ${versionId}
      FROM grid_records g
     WHERE b.grid_id = g.id AND g.community_id = ${community} AND lower(b.valid) = now()`.execute(trx);
  const { rows: [applied] } = await sql<AppliedVersion>`
    UPDATE grid_plan_versions v SET applied_at = now() FROM areas a
     WHERE v.id = ${versionId} AND a.id = v.community_id
    RETURNING v.version, a.id AS community_id, a.code AS community_code, a.district_id,
              (SELECT count(*)::int + 1 FROM grid_plan_versions x WHERE x.applied_at IS NOT NULL AND x.id <> v.id) AS generation`.execute(trx);
  return applied;
}

/** A version that took effect: its community and number, and the grids' generation it made. */
export interface AppliedVersion {
  version: number;
  community_id: string;
  community_code: string;
  district_id: string | null;
  generation: number;
}

/**
 * The timer's claim: the earliest version due and not applied (by community and version), locked
 * so that a second API process skips it; undefined when none is due.
 */
export async function claimDueVersion(trx: Db): Promise<{ id: number; community_id: string } | undefined> {
  return trx.selectFrom('grid_plan_versions').select(['id', 'community_id'])
    .where('applied_at', 'is', null).where('effective_from', '<=', sql<Date>`now()`)
    .orderBy('effective_from').orderBy('version').limit(1).forUpdate().skipLocked().executeTakeFirst();
}

/** Whether the version is still not applied (read under the community's lock). */
export async function isPending(trx: Db, versionId: number): Promise<boolean> {
  const row = await trx.selectFrom('grid_plan_versions').select('applied_at').where('id', '=', versionId).executeTakeFirst();
  return row !== undefined && row.applied_at === null;
}

export interface DraftRow {
  id: string;
  community_code: string;
  author_id: string | null;
  author_name: string | null;
  base_version: number;
  revision: number;
  grids: unknown;
  history: unknown;
  created_at: Date;
  updated_at: Date;
}

const draftQuery = (db: Db) => db.selectFrom('grid_plan_drafts as d').innerJoin('areas as a', 'a.id', 'd.community_id')
  .select(['d.id', 'a.code as community_code', 'd.author_id', 'd.author_name', 'd.base_version', 'd.revision', 'd.grids', 'd.history', 'd.created_at', 'd.updated_at']);

/** One draft (any community: the caller checks the scope), undefined when there is none. */
export async function findDraft(db: Db, id: string, forUpdate = false): Promise<DraftRow | undefined> {
  const q = draftQuery(db).where('d.id', '=', id);
  return (forUpdate ? q.forUpdate('d') : q).executeTakeFirst();
}

/** The drafts of communities whose code starts with `prefix` ('' for all), newest first, at most `limit`. */
export async function listDrafts(db: Db, prefix: string, communityCode: string | undefined, limit: number): Promise<DraftRow[]> {
  let q = draftQuery(db).where('a.code', 'like', `${prefix}%`);
  if (communityCode) q = q.where('a.code', '=', communityCode);
  return q.orderBy('d.updated_at', 'desc').limit(limit).execute();
}

export async function insertDraft(
  trx: Db, d: { communityId: string; authorId: string; authorName: string; baseVersion: number; grids: unknown },
): Promise<string> {
  const row = await trx.insertInto('grid_plan_drafts').values({
    community_id: d.communityId, author_id: d.authorId, author_name: d.authorName, base_version: d.baseVersion, grids: JSON.stringify(d.grids),
  }).returning('id').executeTakeFirstOrThrow();
  return row.id;
}

/** Saves a draft over `revision` (the caller holds its lock and checked it); the new revision. */
export async function saveDraft(trx: Db, id: string, d: { grids: unknown; history: unknown; baseVersion: number }): Promise<void> {
  await trx.updateTable('grid_plan_drafts').set((eb) => ({
    grids: JSON.stringify(d.grids), history: JSON.stringify(d.history), base_version: d.baseVersion,
    revision: eb('revision', '+', 1), updated_at: sql`now()`,
  })).where('id', '=', id).execute();
}

export async function deleteDraft(trx: Db, id: string): Promise<void> {
  await trx.deleteFrom('grid_plan_drafts').where('id', '=', id).execute();
}

export interface SettingsRow {
  too_small_m2: number;
  too_large_m2: number;
  min_households: number;
  max_households: number;
  sliver_radius_m: number;
  gap_overlap_tolerance_m2: number;
  updated_at: Date;
}

/** The planner's bounds (one row). */
export async function readPlanSettings(db: Db): Promise<SettingsRow> {
  return db.selectFrom('grid_plan_settings')
    .select(['too_small_m2', 'too_large_m2', 'min_households', 'max_households', 'sliver_radius_m', 'gap_overlap_tolerance_m2', 'updated_at'])
    .executeTakeFirstOrThrow();
}

export async function writePlanSettings(trx: Db, s: Omit<SettingsRow, 'updated_at'>): Promise<void> {
  await trx.updateTable('grid_plan_settings').set({ ...s, updated_at: sql`now()` }).execute();
}

// --- The planner's screen ------------------------------------------------------------------------
//
// What a grid holds is impact's "before" (planner.query.ts): buildings by their grid (the trigger's
// point on surface), households summed over them, incidents by their grid and not closed
// (OPEN_STATUSES), responders by home grid — over the grids in force.

/**
 * A community within reach of `areaCode` (the service's communityFor): its area holds it (the scope
 * rule), or the area is a grid of it ('*' reaches all).
 */
function communityInReach(code: Expression<string>, areaCode: AreaCode): RawBuilder<SqlBool> {
  if (seesEverything(areaCode) || areaCode.length <= 12) return codeInScope(code, areaCode);
  return sql<SqlBool>`(${code} = ${areaCode.slice(0, 12)})`;
}

export interface CommunityListRow {
  code: string;
  name: string;
  street_code: string;
  street_name: string;
  grids: number;
  buildings: number;
  households: number;
  open_incidents: number;
  responders: number;
  latest_version: number;
}

/** The communities within reach of `areaCode`, by code, at most `limit`, each with what its grids in force hold. */
export async function listCommunities(db: Db, areaCode: AreaCode, limit: number): Promise<CommunityListRow[]> {
  return db
    .selectFrom('areas as c')
    .innerJoin('areas as s', 's.id', 'c.parent_id')
    .leftJoinLateral(
      (eb) => eb.selectFrom('buildings as b').innerJoin('grids as g', 'g.id', 'b.grid_id').whereRef('g.community_id', '=', 'c.id')
        .select((b) => [b.fn.countAll<number>().as('n'), b.fn.coalesce(b.fn.sum<number>('b.households'), b.lit(0)).as('households')])
        .as('b'),
      (join) => join.onTrue(),
    )
    .where('c.level', '=', 'community')
    .where((eb) => communityInReach(eb.ref('c.code'), areaCode))
    .select((eb) => [
      'c.code as code',
      'c.name as name',
      's.code as street_code',
      's.name as street_name',
      eb.selectFrom('grids as g').whereRef('g.community_id', '=', 'c.id').select(eb.fn.countAll<number>().as('n')).$asScalar().as('grids'),
      eb.fn.coalesce('b.n', eb.lit(0)).as('buildings'),
      eb.fn.coalesce('b.households', eb.lit(0)).as('households'),
      eb.selectFrom('incidents as i').innerJoin('grids as g', 'g.id', 'i.grid_id').whereRef('g.community_id', '=', 'c.id')
        .where('i.status', 'in', OPEN_STATUSES)
        .select(eb.fn.countAll<number>().as('n')).$asScalar().as('open_incidents'),
      eb.selectFrom('responders as r').innerJoin('grids as g', 'g.id', 'r.home_grid_id').whereRef('g.community_id', '=', 'c.id')
        .select(eb.fn.countAll<number>().as('n')).$asScalar().as('responders'),
      eb.fn.coalesce(
        eb.selectFrom('grid_plan_versions as v').whereRef('v.community_id', '=', 'c.id').select((v) => v.fn.max('v.version').as('n')).$asScalar(),
        eb.lit(0),
      ).as('latest_version'),
    ])
    .orderBy('c.code')
    .limit(limit)
    .execute() as Promise<CommunityListRow[]>;
}

/** A stored MultiPolygon as GeoJSON (EPSG:4326): areas' and grids' geometry columns are MultiPolygon. */
export interface StoredMultiPolygon { type: 'MultiPolygon'; coordinates: [number, number][][][] }

export interface CommunityOutline {
  boundary: StoredMultiPolygon | null;
  bbox: [number, number, number, number] | null;
}

/** The community's boundary (9 decimals) and the bbox of it — of its grids in force when it has none. */
export async function communityOutline(db: Db, communityId: string): Promise<CommunityOutline> {
  const { rows: [row] } = await sql<{ boundary: StoredMultiPolygon | null; xmin: number | null; ymin: number | null; xmax: number | null; ymax: number | null }>`
    SELECT ST_AsGeoJSON(x.boundary, 9)::jsonb AS boundary,
           ST_XMin(x.extent) AS xmin, ST_YMin(x.extent) AS ymin, ST_XMax(x.extent) AS xmax, ST_YMax(x.extent) AS ymax
      FROM (SELECT a.geom AS boundary, coalesce(a.geom, (SELECT ST_Union(g.geom) FROM grids g WHERE g.community_id = a.id)) AS extent
              FROM areas a WHERE a.id = ${communityId}) x`.execute(db);
  const bbox = row.xmin === null ? null : [row.xmin, row.ymin!, row.xmax!, row.ymax!] as [number, number, number, number];
  return { boundary: row.boundary, bbox };
}

export interface HeldCounts { buildings: number; households: number; openIncidents: number; responders: number }
export interface CommunityGridFeature {
  type: 'Feature';
  properties: { code: string; name: string } & HeldCounts;
  geometry: StoredMultiPolygon;
}

/** The community's grids in force (9 decimals, by code), each with what it holds. */
export async function gridsInForceWithCounts(db: Db, communityId: string): Promise<{ type: 'FeatureCollection'; features: CommunityGridFeature[] }> {
  const { rows } = await sql<{ fc: { type: 'FeatureCollection'; features: CommunityGridFeature[] } }>`
    SELECT jsonb_build_object('type', 'FeatureCollection', 'features', coalesce(jsonb_agg(jsonb_build_object(
             'type', 'Feature',
             'properties', jsonb_build_object('code', g.code, 'name', g.name, 'buildings', b.n, 'households', b.households,
                                              'openIncidents', i.n, 'responders', r.n),
             'geometry', ST_AsGeoJSON(g.geom, 9)::jsonb) ORDER BY g.code), '[]'::jsonb)) AS fc
      FROM grids g
      CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(x.households), 0) AS households FROM buildings x WHERE x.grid_id = g.id) b
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM incidents x WHERE x.grid_id = g.id AND x.status = ANY(${[...OPEN_STATUSES]}::text[])) i
      CROSS JOIN LATERAL (SELECT count(*) AS n FROM responders x WHERE x.home_grid_id = g.id) r
     WHERE g.community_id = ${communityId}`.execute(db);
  return rows[0].fc;
}

export interface RoadGuideFeature {
  type: 'Feature';
  properties: { name: string | null; class: string };
  geometry: { type: 'LineString'; coordinates: [number, number][] };
}

/**
 * The roads within `metres` of the community's boundary (of its grids in force when it has none),
 * clipped to that area: each LineString part one Feature, snapped to 7 decimals (parts that collapse
 * are dropped), the longest `cap` first. Basemap geography: roads are not scoped.
 */
export async function roadGuides(db: Db, communityId: string, metres: number, cap: number): Promise<{ type: 'FeatureCollection'; features: RoadGuideFeature[] }> {
  const { rows } = await sql<{ fc: { type: 'FeatureCollection'; features: RoadGuideFeature[] } }>`
    WITH extent AS (
      SELECT ST_Buffer(x.geom::geography, ${metres}::float8)::geometry AS geom
        FROM (SELECT coalesce(a.geom, (SELECT ST_Union(g.geom) FROM grids g WHERE g.community_id = a.id)) AS geom
                FROM areas a WHERE a.id = ${communityId}) x
       WHERE x.geom IS NOT NULL
    ),
    parts AS (
      SELECT r.id, r.name, r.class, d.path, ST_SnapToGrid(d.geom, 1e-7) AS geom
        FROM extent e
        JOIN roads r ON r.geom && e.geom AND ST_Intersects(r.geom, e.geom)
        CROSS JOIN LATERAL ST_Dump(ST_CollectionExtract(ST_Intersection(r.geom, e.geom), 2)) d
    ),
    kept AS (
      SELECT p.* FROM parts p
       WHERE p.geom IS NOT NULL AND NOT ST_IsEmpty(p.geom) AND GeometryType(p.geom) = 'LINESTRING' AND ST_NPoints(p.geom) >= 2
       ORDER BY ST_Length(p.geom) DESC, p.id, p.path
       LIMIT ${cap}
    )
    SELECT jsonb_build_object('type', 'FeatureCollection', 'features', coalesce(jsonb_agg(jsonb_build_object(
             'type', 'Feature', 'properties', jsonb_build_object('name', k.name, 'class', k.class),
             'geometry', ST_AsGeoJSON(k.geom, 7)::jsonb) ORDER BY ST_Length(k.geom) DESC, k.id, k.path), '[]'::jsonb)) AS fc
      FROM kept k`.execute(db);
  return rows[0].fc;
}

// --- The rebalancing assistant ---------------------------------------------------------------------

/**
 * The planner's rebalancing assistant (issue 13): proposals for the grids of a proposal whose households are out
 * of bounds (grid_plan_settings).
 *
 * - split: a grid above the household bound (one part) is cut along a street inside it. Candidates are the road
 *   centre lines inside the grid, merged per street name (ST_LineMerge), that cross it from border to border;
 *   each is extended by about a metre at both ends (so that it leaves the grid whatever the rounding) and the
 *   grid is split by it (ST_Split). A cut into exactly two parts, each at least a tenth of the grid, is a
 *   candidate; the one whose two parts' households (buildings by point on surface, as validation counts them)
 *   differ least wins. The browser applies it with the edit engine's splitGrid along the returned line.
 * - merge: two neighbours (a shared border over 1 m) that are both small (households below the lower bound, or
 *   area below too_small) and together within the upper bound; the pairs closest to the middle of the bounds
 *   first.
 * Plain SQL over the proposal (PostGIS 3.3 and PGlite's 3.6), like validation.
 */
export interface RebalanceRow {
  kind: 'split' | 'merge';
  codes: string[];
  households: number[];
  street: string | null;
  line: unknown;
}

/** About 1 m in degrees: how far a street is extended beyond the grid's border. */
const EXTEND_DEG = 1e-5;

export function rebalanceSql(communityCode: string, grids: unknown[]) {
  return sql<RebalanceRow>`
    WITH ${proposal(communityCode, grids)},
    s AS (SELECT * FROM grid_plan_settings),
    hh AS (
      SELECT u.ord, u.code, u.geom, ST_Area(u.geom::geography) AS m2,
             (SELECT coalesce(sum(b.households), 0)::int FROM buildings b
               WHERE b.geom && u.geom AND ST_Intersects(u.geom, ST_PointOnSurface(b.geom))) AS n
        FROM usable u
    ),
    big AS (SELECT h.* FROM hh h, s WHERE h.n > s.max_households AND ST_NumGeometries(h.geom) = 1),
    streets AS (
      SELECT b.code, r.name, (ST_Dump(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Union(r.geom), b.geom), 2)))).geom AS line
        FROM big b JOIN roads r ON r.geom && b.geom AND ST_Intersects(r.geom, b.geom)
       GROUP BY b.code, b.geom, r.name
    ),
    crossing AS (
      SELECT row_number() OVER () AS id, st.code, st.name, b.geom AS grid, b.n, e.line
        FROM streets st JOIN big b USING (code),
             LATERAL (SELECT ST_StartPoint(st.line) AS p0, ST_PointN(st.line, 2) AS p1,
                             ST_EndPoint(st.line) AS q0, ST_PointN(st.line, ST_NPoints(st.line) - 1) AS q1) ends,
             LATERAL (SELECT greatest(ST_Distance(ends.p0, ends.p1), 1e-12) AS dp, greatest(ST_Distance(ends.q0, ends.q1), 1e-12) AS dq) d,
             LATERAL (SELECT ST_AddPoint(ST_AddPoint(st.line,
                        ST_SetSRID(ST_MakePoint(ST_X(ends.p0) + (ST_X(ends.p0) - ST_X(ends.p1)) / d.dp * ${EXTEND_DEG},
                                     ST_Y(ends.p0) + (ST_Y(ends.p0) - ST_Y(ends.p1)) / d.dp * ${EXTEND_DEG}), 4326), 0),
                        ST_SetSRID(ST_MakePoint(ST_X(ends.q0) + (ST_X(ends.q0) - ST_X(ends.q1)) / d.dq * ${EXTEND_DEG},
                                     ST_Y(ends.q0) + (ST_Y(ends.q0) - ST_Y(ends.q1)) / d.dq * ${EXTEND_DEG}), 4326)) AS line) e
       WHERE ST_NPoints(st.line) >= 2 AND NOT ST_IsClosed(st.line)
         AND ST_DWithin(ST_StartPoint(st.line), ST_Boundary(b.geom), 1e-7)
         AND ST_DWithin(ST_EndPoint(st.line), ST_Boundary(b.geom), 1e-7)
         -- A street along the border (grids often follow streets) cuts nothing, and splitting a polygon by a line
         -- that runs within a hair of its boundary defeats GEOS (on PGlite it takes the database down): only
         -- streets that run through the inside, no more than a tenth of them within 1 m of the border.
         AND ST_Length(ST_Intersection(st.line, ST_Buffer(ST_Boundary(b.geom), ${EXTEND_DEG}))) < 0.1 * ST_Length(st.line)
    ),
    pieces AS (
      SELECT c.id, c.code, c.name, c.line, c.grid, p.path[1] AS k, p.geom AS piece
        FROM crossing c, LATERAL ST_Dump(ST_CollectionExtract(ST_Split(ST_GeometryN(c.grid, 1), c.line), 3)) p
    ),
    cuts AS (
      SELECT p.id, p.code, p.name, p.line,
             array_agg((SELECT coalesce(sum(b.households), 0)::int FROM buildings b
                         WHERE b.geom && p.piece AND ST_Intersects(p.piece, ST_PointOnSurface(b.geom))) ORDER BY p.k) AS ns,
             min(ST_Area(p.piece::geography) / ST_Area(p.grid::geography)) AS smallest, count(*) AS parts
        FROM pieces p GROUP BY p.id, p.code, p.name, p.line
    ),
    splits AS (
      SELECT DISTINCT ON (c.code) 'split'::text AS kind, ARRAY[c.code] AS codes, c.ns AS households, c.name AS street,
             ST_AsGeoJSON(c.line, 9)::jsonb AS line, abs(c.ns[1] - c.ns[2]) AS score
        FROM cuts c WHERE c.parts = 2 AND c.smallest >= 0.1
       ORDER BY c.code, abs(c.ns[1] - c.ns[2]), c.id
    ),
    small AS (SELECT h.* FROM hh h, s WHERE h.n < s.min_households OR h.m2 < s.too_small_m2),
    merges AS (
      SELECT 'merge'::text AS kind, ARRAY[a.code, b.code] AS codes, ARRAY[a.n, b.n] AS households, NULL::text AS street, NULL::jsonb AS line,
             abs((a.n + b.n) - (s.min_households + s.max_households) / 2.0) AS score
        FROM small a JOIN small b ON a.ord < b.ord AND a.geom && b.geom AND ST_Intersects(a.geom, b.geom), s
       WHERE a.n + b.n <= s.max_households
         AND ST_Length(ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 2)::geography) > 1
    )
    SELECT kind, codes, households, street, line FROM (
      SELECT kind, codes, households, street, line, score FROM splits
      UNION ALL
      SELECT kind, codes, households, street, line, score FROM merges
    ) x
    ORDER BY kind DESC, score, codes`;
}

/** The proposals for a proposal's grids: splits of the grids above the bound first, then merges of small neighbours. */
export async function rebalanceProposals(db: Db, communityCode: string, grids: unknown[]): Promise<RebalanceRow[]> {
  return (await rebalanceSql(communityCode, grids).execute(db)).rows;
}
