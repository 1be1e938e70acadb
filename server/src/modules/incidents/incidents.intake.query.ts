/**
 * The intake of a report: one autocommitted statement, the write's only round trip (reportAt below).
 * The service turns a row without an incident into the matching 4xx (nothing was written then).
 */
import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../../db/transaction.js';
import { compiledOnce } from '../../db/compiled.js';
import { distanceMetres, dWithinMetres, expandDegrees, pointLonLat } from '../../db/postgis.js';
import { seesEverything, type Viewer } from '../../auth/scope.js';
import { codeInScope, incidentVisible } from '../../auth/scope.repository.js';
import { INCIDENT_REFS, newIncidentFeature } from './incidents.repository.js';
import type { IncidentRow } from './incidents.feature.js';
import { claimStatement, type KeyClaim } from '../../write/idempotency.repository.js';
import { appendLiveEvents } from '../../live/live.repository.js';
import { isoUtc } from '../../db/text.js';

export const NEAR_BORDER_METRES = 30;
export const DUPLICATE_METRES = 50;

/** Degrees that cover at least `metres` around a latitude (an index-friendly box before the geodesic test). */
export function degreeBox(metres: number, lat: number): { dx: number; dy: number } {
  const dy = (metres * 1.05) / 110_574;
  const dx = Math.min(180, (metres * 1.05) / (111_320 * Math.max(0.01, Math.cos((lat * Math.PI) / 180))));
  return { dx, dy };
}

/** A report as the intake stores it. */
export interface NewReport {
  category: string;
  priority: string;
  lon: number;
  lat: number;
  address: string | null;
  description: string;
  reporterContact: string | null;
  actorName: string;
}

/** A possible duplicate of a new report. */
export interface Duplicate {
  id: string;
  status: string;
  description: string;
  reportedAt: string;
  distanceMetres: number;
}

/** What the intake statement found and did: `incident` is undefined when it stored nothing. */
export interface Intake {
  categoryKnown: boolean;
  gridCode: string | null;
  districtId: string | null;
  /** The grid holding the point is in the reporter's area. */
  inScope: boolean;
  /** False when the request's Idempotency-Key was already answered (nothing was written). */
  keyClaimed: boolean;
  incident?: IncidentRow;
  duplicates: Duplicate[];
  /** The live event was appended (and notified). */
  published: boolean;
}

type IntakeRow = Partial<IncidentRow> & {
  key_claimed: boolean; category_known: boolean; place_grid_code: string | null; place_district_id: string | null; in_scope: boolean;
  duplicates: Duplicate[]; published: boolean;
};

const P = sql.ref('p.geom');

/**
 * The intake, one autocommitted statement (write/write.ts runStatementWrite): the category known?,
 * the grid holding the point and the other grids within 30 geodesic metres, that grid in the
 * reporter's area?, and the possible duplicates — same category, within 50 m and the last 24 h, open
 * or closed, visible to the reporter, nearest first, at most 10. Then, only when all hold: the
 * request's Idempotency-Key claimed (`claim`) with its answer by reference (the new incident's id and
 * the duplicates: the replay reads the incident as it is then); when claimed, the incident (reported,
 * by `v`, its id drawn beforehand), its `report` step and its live event (incidents.events.ts); and
 * the Feature of the new row (read from the inserting CTE: a statement does not see its
 * own inserts — which also keeps the new row out of its own duplicates).
 */
export async function reportAt(db: Db, v: Viewer, r: NewReport, claim: KeyClaim | undefined): Promise<Intake> {
  const near = degreeBox(NEAR_BORDER_METRES, r.lat);
  const dup = degreeBox(DUPLICATE_METRES, r.lat);
  const [row] = await intakeStatement(
    db, claim?.userId ?? null, v.areaCode, v.responderId, v.departmentCode, claim?.key ?? null, claim?.route ?? null, claim?.hash ?? null, v.id,
    r.lon, r.lat, near.dx, near.dy, dup.dx, dup.dy, r.category, r.priority, r.address, r.description, r.reporterContact, r.actorName,
  );
  const { key_claimed, category_known, place_grid_code, place_district_id, in_scope, duplicates, published, ...feature } = row;
  return {
    categoryKnown: category_known, gridCode: place_grid_code, districtId: place_district_id, inScope: in_scope, keyClaimed: key_claimed,
    incident: feature.id ? (feature as IncidentRow) : undefined,
    duplicates, published,
  };
}

/** The answer stored with the intake's key: a reference (runStatementWrite's replay resolves it). */
export interface IntakeAnswerRef {
  incidentId: string;
  possibleDuplicates: Duplicate[];
}

/**
 * A new report, as the rows of its live event (appendLiveEvents' columns) for the incidents the
 * CTE `created` inserted: the intake is one statement (write/write.ts runStatementWrite), so this
 * event is built in SQL — its only builder. No assignee yet: its area sees it (empty audience).
 * `data`: incidentId, status, priority, category, gridCode, lon, lat, reportedAt (as incidentUpdated's,
 * without action and changes, with reportedAt).
 */
function incidentCreatedRows(created: string, gridCode: Expression<string | null>) {
  const i = (column: string) => sql.ref(`${created}.${column}`);
  return sql`
    SELECT 'incident.created', ${i('id')}, coalesce(${gridCode}, ''), ${i('district_id')},
           jsonb_build_object('incidentId', ${i('id')}, 'status', ${i('status')}, 'priority', ${i('priority')}, 'category', ${i('category')},
                              'gridCode', ${gridCode}, 'lon', ST_X(${i('location')}), 'lat', ST_Y(${i('location')}),
                              'reportedAt', ${isoUtc(i('reported_at'))}),
           '{}'::uuid[], '{}'::text[]
      FROM ${sql.table(created)}`;
}

/** The statement's values; the first four steer its shape (see intakeStatement). */
type IntakeArgs = [
  claimUser: string | null, areaCode: string, responderId: string | null, departmentCode: string | null,
  claimKey: string | null, claimRoute: string | null, claimHash: string | null, userId: string,
  lon: number, lat: number, nearDx: number, nearDy: number, dupDx: number, dupDy: number,
  category: string, priority: string, address: string | null, description: string, reporterContact: string | null, actorName: string,
];

/**
 * The statement, built and compiled once per shape (db/compiled.ts: building the feature query and
 * the CTEs cost about as much as planning) and prepared once per connection. Shape: with or without
 * a key to claim, and the reporter's scope rule (all, area; responder, department). Written as a `sql`
 * template around the builder's pieces (the key's claim, the feature query, the scope rule, the
 * event's rows): the chain of CTEs is beyond the builder.
 */
const intakeStatement = compiledOnce(
  (db: Db, a: IntakeArgs, shape: string) => {
    const [claimUser, areaCode, responderId, departmentCode, claimKey, claimRoute, claimHash, userId,
      lon, lat, nearDx, nearDy, dupDx, dupDy, category, priority, address, description, reporterContact, actorName] = a;
    const [withKey, everything, hasResponder, hasDepartment] = shape.split(',');
    const v: Viewer = {
      id: userId, areaCode: everything === 'all' ? '*' : areaCode,
      responderId: hasResponder === 'r' ? responderId : null, departmentCode: hasDepartment === 'd' ? departmentCode : null,
    };
    const goesAhead = sql<SqlBool>`(SELECT ok FROM place)`;
    const claimed = withKey === 'k'
      ? claimStatement(db, { userId: claimUser!, key: claimKey!, route: claimRoute!, hash: claimHash! }, {
        when: goesAhead,
        answer: { status: 201, body: sql`(SELECT jsonb_build_object('incidentId', new_id.id, 'possibleDuplicates', dup.duplicates) FROM new_id, dup)` },
      })
      : sql`SELECT 1 AS claimed WHERE ${goesAhead}`;
    const location = sql.ref('i.location');
    const statement = sql<IntakeRow>`
    WITH p AS (SELECT ${pointLonLat(lon, lat)} AS geom),
         -- grid_at(p) (migration 0001; the insert trigger's rule: the lowest code among the grids
         -- holding the point), written out: a SQL function with ORDER BY … LIMIT is never inlined and
         -- was planned anew on every call (0.18 against 0.09 ms).
         own AS (SELECT g.id, g.code, g.district_id FROM p, grids g WHERE ST_Intersects(g.geom, p.geom) ORDER BY g.code LIMIT 1),
         place AS (
           SELECT s.*, s.category_known AND s.grid_id IS NOT NULL AND ${codeInScope(sql.ref('s.grid_code'), v.areaCode)} AS ok
             FROM (SELECT EXISTS (SELECT 1 FROM incident_categories WHERE code = ${category}) AS category_known,
                          own.id AS grid_id, own.code AS grid_code, own.district_id,
                          coalesce((SELECT array_agg(g.id ORDER BY g.code) FROM p, grids g
                                     WHERE g.id IS DISTINCT FROM own.id
                                       AND g.geom && ${expandDegrees(P, nearDx, nearDy)}
                                       AND ${dWithinMetres(sql.ref('g.geom'), P, NEAR_BORDER_METRES)}), '{}') AS near_grid_ids
                     FROM (SELECT 1) one LEFT JOIN own ON true) s),
         -- The incidents in the box around the point, by the location index alone: materialised, so
         -- that no plan ANDs it with the category/time index (in a city that index holds thousands of
         -- the day's reports of one category, the box a handful; the prepared statement's generic plan
         -- cannot tell).
         near_incidents AS MATERIALIZED (
           SELECT i.id, i.status, i.description, i.reported_at, i.category, i.location, i.grid_id,
                  i.assignee_responder_id, i.assignee_department
             FROM p, incidents i
            WHERE ${goesAhead} AND i.location && ${expandDegrees(P, dupDx, dupDy)}),
         dup AS (
           SELECT coalesce(json_agg(json_build_object('id', n.id, 'status', n.status, 'description', n.description,
                                                      'reportedAt', ${isoUtc(sql.ref('n.reported_at'))}, 'distanceMetres', round(n.d::numeric, 1)) ORDER BY n.d, n.reported_at DESC), '[]') AS duplicates
             FROM (SELECT i.id, i.status, i.description, i.reported_at, ${distanceMetres(location, P)} AS d
                     FROM p, near_incidents i LEFT JOIN grids g ON g.id = i.grid_id
                    WHERE i.category = ${category} AND i.reported_at > now() - interval '24 hours'
                      AND ${dWithinMetres(location, P, DUPLICATE_METRES)}
                      AND ${incidentVisible(v, INCIDENT_REFS)}
                    ORDER BY d, i.reported_at DESC LIMIT 10) n),
         new_id AS MATERIALIZED (SELECT gen_random_uuid() AS id),
         claimed AS (${claimed}),
         new_incident AS (
           INSERT INTO incidents (id, grid_id, category, priority, status, location, address, description, reporter_contact,
                                  near_border, near_grid_ids, reported_by, status_since, reported_at)
           SELECT new_id.id, place.grid_id, ${category}, ${priority}, 'reported', p.geom, ${address}, ${description}, ${reporterContact},
                  cardinality(place.near_grid_ids) > 0, place.near_grid_ids, ${userId}::uuid, now(), now()
             FROM new_id, place, p
            WHERE EXISTS (SELECT 1 FROM claimed)
           RETURNING *),
         report_step AS (
           INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name)
           SELECT id, district_id, 'report', NULL, 'reported', ${userId}::uuid, ${actorName} FROM new_incident),
         event AS (${appendLiveEvents(incidentCreatedRows('new_incident', sql`(SELECT grid_code FROM place)`))})
    SELECT EXISTS (SELECT 1 FROM claimed) AS key_claimed, place.category_known, place.grid_code AS place_grid_code,
           place.district_id AS place_district_id, place.ok AS in_scope, f.*, dup.duplicates,
           EXISTS (SELECT 1 FROM event) AS published
      FROM place CROSS JOIN dup
      LEFT JOIN LATERAL (${newIncidentFeature(db, 'new_incident')}) f ON true`;
    return { compile: () => statement.compile(db) };
  },
  (claimUser: string | null, areaCode: string, responderId: string | null, departmentCode: string | null) =>
    `${claimUser !== null ? 'k' : ''},${seesEverything(areaCode) ? 'all' : 'area'},${responderId ? 'r' : ''},${departmentCode ? 'd' : ''}`,
);
