/**
 * All SQL of responders except the candidates statements (candidates.query.ts): the worker's own
 * record, status and position writes (called by responders.service.ts inside runWrite), the scoped
 * list, and the demo simulator's step. Rows are mapped to API objects here.
 */
import { sql, type Expression, type RawBuilder } from 'kysely';
import { type AreaCode } from '../../auth/scope.js';
import { codeInScope } from '../../auth/scope.repository.js';
import { asGeoJson, pointLonLat, stX, stY } from '../../db/postgis.js';
import type { Db } from '../../db/transaction.js';
import { compiledOnce } from '../../db/compiled.js';
import { ACTIVE_STATUSES } from '../incidents/lifecycle.js';
import type { AcceptedPoint, TrackPoint } from './positions.js';
import type { ResponderPlacement } from './responders.events.js';

export const RESPONDER_STATUSES = ['available', 'busy', 'off_duty'] as const;
export type ResponderStatus = (typeof RESPONDER_STATUSES)[number];
export const PRESENCES = ['online', 'stale', 'offline'] as const;
export type Presence = (typeof PRESENCES)[number];

export interface PresenceConfig {
  onlineSeconds: number;
  offlineSeconds: number;
}

/** Presence from the age of the last position (the rule; presenceText is the same for hand-written SQL). */
export function presence(positionAt: Expression<Date | null>, cfg: PresenceConfig): RawBuilder<Presence> {
  return sql<Presence>`CASE WHEN ${positionAt} IS NULL THEN 'offline'
    WHEN ${positionAt} > now() - make_interval(secs => ${cfg.onlineSeconds}) THEN 'online'
    WHEN ${positionAt} > now() - make_interval(secs => ${cfg.offlineSeconds}) THEN 'stale'
    ELSE 'offline' END`;
}

/** `presence` as SQL text: `positionAt` a column, `on`/`off` placeholders of the seconds (e.g. '$7'). */
export function presenceText(positionAt: string, on: string, off: string): string {
  return `CASE WHEN ${positionAt} IS NULL THEN 'offline'
    WHEN ${positionAt} > now() - make_interval(secs => ${on}) THEN 'online'
    WHEN ${positionAt} > now() - make_interval(secs => ${off}) THEN 'stale'
    ELSE 'offline' END`;
}

export interface Position {
  lon: number;
  lat: number;
  recordedAt: string;
  accuracyMetres: number | null;
}

export interface ResponderSelf {
  id: string;
  name: string;
  kind: string;
  status: string;
  statusAt: string;
  presence: Presence;
  position: Position | null;
  homeGridCode: string | null;
  activeIncidentCount: number;
}

interface PositionColumns {
  lon: number | null;
  lat: number | null;
  position_at: Date | null;
  position_accuracy_m: number | null;
}

/** A responder's current position (the columns are written together: recordPositions). */
function positionOf(r: PositionColumns): Position | null {
  if (r.lon === null || r.lat === null || r.position_at === null) return null;
  return { lon: r.lon, lat: r.lat, recordedAt: r.position_at.toISOString(), accuracyMetres: r.position_accuracy_m };
}

/** The responder's own record, or undefined when it does not exist. */
export async function getSelf(db: Db, responderId: string, cfg: PresenceConfig): Promise<ResponderSelf | undefined> {
  const row = await db
    .selectFrom('responders as r')
    .leftJoin('grids as g', 'g.id', 'r.home_grid_id')
    .select((eb) => [
      'r.id', 'r.name', 'r.kind', 'r.status', 'r.status_at', 'r.position_at', 'r.position_accuracy_m', 'g.code as home_grid_code',
      presence(eb.ref('r.position_at'), cfg).as('presence'),
      stX(eb.ref('r.position')).$castTo<number | null>().as('lon'),
      stY(eb.ref('r.position')).$castTo<number | null>().as('lat'),
      eb.selectFrom('incidents as i')
        .select((e) => e.fn.countAll<number>().as('n'))
        .whereRef('i.assignee_responder_id', '=', 'r.id')
        .where('i.status', 'in', ACTIVE_STATUSES)
        .as('active_incident_count'),
    ])
    .where('r.id', '=', responderId)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    id: row.id, name: row.name, kind: row.kind, status: row.status, statusAt: row.status_at.toISOString(),
    presence: row.presence, position: positionOf(row), homeGridCode: row.home_grid_code, activeIncidentCount: row.active_incident_count ?? 0,
  };
}

/** A responder locked for a write: where its events belong, its status, current position, and the database's clock. */
export interface LockedResponder {
  placement: ResponderPlacement;
  status: string;
  /** The current position as a track point (for the speed check) and as the API answers it. */
  current: TrackPoint | null;
  position: Position | null;
  now: Date;
}

// The statements of every position batch, compiled once (db/compiled.ts).
const lockedRow = compiledOnce((trx: Db, [responderId]: [string]) =>
  trx
    .selectFrom('responders as r')
    .select((eb) => [
      'r.status', 'r.district_id', 'r.position_at', 'r.position_accuracy_m',
      // Events belong to the home grid's code, else the district's.
      eb.fn.coalesce(
        eb.selectFrom('grids').select('code').whereRef('grids.id', '=', 'r.home_grid_id'),
        eb.selectFrom('areas').select('code').whereRef('areas.id', '=', 'r.district_id'),
        sql.lit(''),
      ).$castTo<string>().as('scope_code'),
      stX(eb.ref('r.position')).$castTo<number | null>().as('lon'),
      stY(eb.ref('r.position')).$castTo<number | null>().as('lat'),
      sql<Date>`now()`.as('now'),
    ])
    .where('r.id', '=', responderId)
    .forUpdate());

/** Locks the responder's row until the transaction ends (its writes are serialised); undefined when it does not exist. */
export async function lockResponder(trx: Db, responderId: string): Promise<LockedResponder | undefined> {
  const [row] = await lockedRow(trx, responderId);
  if (!row) return undefined;
  return {
    placement: { responderId, scopeCode: row.scope_code, districtId: row.district_id },
    status: row.status,
    current: row.position_at && row.lon !== null && row.lat !== null ? { t: row.position_at.getTime(), lon: row.lon, lat: row.lat } : null,
    position: positionOf(row),
    now: row.now,
  };
}

export async function updateStatus(trx: Db, responderId: string, status: ResponderStatus): Promise<void> {
  await trx.updateTable('responders').set({ status, status_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', responderId).execute();
}

/**
 * For each of `times`, the stored track point at or before it and the one after it: all the stored
 * neighbours a batch check can need (at most two index probes per time, however long the track).
 */
export async function storedNeighbours(trx: Db, responderId: string, times: readonly number[]): Promise<TrackPoint[]> {
  if (!times.length) return [];
  // A LATERAL UNION ALL of two ordered, limited probes per time: the query builder cannot say it.
  const { rows } = await sql<{ t: Date; lon: number; lat: number }>`
    SELECT DISTINCT s.t, s.lon, s.lat
      FROM unnest(${times.map((t) => new Date(t).toISOString())}::timestamptz[]) AS q (t)
      CROSS JOIN LATERAL (
        (SELECT recorded_at AS t, ST_X(position) AS lon, ST_Y(position) AS lat FROM responder_positions
          WHERE responder_id = ${responderId} AND recorded_at <= q.t ORDER BY recorded_at DESC LIMIT 1)
        UNION ALL
        (SELECT recorded_at, ST_X(position), ST_Y(position) FROM responder_positions
          WHERE responder_id = ${responderId} AND recorded_at > q.t ORDER BY recorded_at LIMIT 1)) s`.execute(trx);
  return rows.map((r) => ({ t: r.t.getTime(), lon: r.lon, lat: r.lat }));
}

/** Appends accepted points to the track; a point already stored (same responder and time) is skipped. */
export async function insertTrack(trx: Db, r: ResponderPlacement, points: readonly AcceptedPoint[]): Promise<void> {
  if (!points.length) return;
  await trx
    .insertInto('responder_positions')
    .values(points.map((p) => ({
      responder_id: r.responderId, recorded_at: new Date(p.t), district_id: r.districtId,
      position: pointLonLat(p.lon, p.lat), accuracy_m: p.accuracyMetres,
    })))
    .onConflict((oc) => oc.columns(['responder_id', 'recorded_at']).doNothing())
    .execute();
}

const movedRows = compiledOnce((trx: Db, [responderId, lon, lat, at, accuracy]: [string, number, number, Date, number | null]) =>
  trx
    .updateTable('responders')
    .set({ position: pointLonLat(lon, lat), position_at: at, position_accuracy_m: accuracy, updated_at: sql`now()` })
    .where('id', '=', responderId)
    .where((eb) => eb.or([eb('position_at', 'is', null), eb('position_at', '<', at)]))
    .returning('position_accuracy_m'));

/**
 * Moves the current position to `p` unless the current one is as new or newer: the position as
 * stored (the accuracy as its `real` column keeps it) when it moved, else null.
 */
export async function moveCurrentPosition(trx: Db, responderId: string, p: AcceptedPoint): Promise<Position | null> {
  const [row] = await movedRows(trx, responderId, p.lon, p.lat, new Date(p.t), p.accuracyMetres);
  return row ? { lon: p.lon, lat: p.lat, recordedAt: new Date(p.t).toISOString(), accuracyMetres: row.position_accuracy_m } : null;
}

/** A responder's position as GeoJSON (the column is a Point). */
export interface PointGeometry {
  type: 'Point';
  coordinates: number[];
}

export interface ResponderFeature {
  type: 'Feature';
  id: string;
  geometry: PointGeometry | null;
  properties: {
    id: string; name: string; kind: string; status: string; statusAt: string; presence: Presence; positionAt: string | null;
    accuracyMetres: number | null; homeGridId: string | null; homeGridCode: string | null; activeIncidentId: string | null;
  };
}

export interface ListQuery {
  areaCode: AreaCode;
  status?: string[];
  presence?: Presence[];
  limit: number;
  offset: number;
}

/** The responders of the user's area (by home grid) as a FeatureCollection page. */
export async function listResponders(db: Db, q: ListQuery, cfg: PresenceConfig) {
  const base = db
    .selectFrom('responders as r')
    .leftJoin('grids as g', 'g.id', 'r.home_grid_id')
    .where((eb) => codeInScope(eb.ref('g.code'), q.areaCode))
    .$if(Boolean(q.status), (qb) => qb.where('r.status', 'in', q.status!))
    .$if(Boolean(q.presence), (qb) => qb.where((eb) => eb(presence(eb.ref('r.position_at'), cfg), 'in', q.presence!)));
  const [rows, count] = await Promise.all([
    base
      .select((eb) => [
        'r.id', 'r.name', 'r.kind', 'r.status', 'r.status_at', 'r.position_at', 'r.position_accuracy_m', 'r.home_grid_id',
        'g.code as home_grid_code',
        presence(eb.ref('r.position_at'), cfg).as('presence'),
        asGeoJson(eb.ref('r.position'), 7).$castTo<PointGeometry | null>().as('geometry'),
        eb.selectFrom('incidents as i')
          .select('i.id')
          .whereRef('i.assignee_responder_id', '=', 'r.id')
          .where('i.status', 'in', ACTIVE_STATUSES)
          .orderBy('i.assigned_at', (ob) => ob.desc().nullsLast())
          .limit(1)
          .as('active_incident_id'),
      ])
      .orderBy('r.id')
      .limit(q.limit)
      .offset(q.offset)
      .execute(),
    base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const features: ResponderFeature[] = rows.map((r) => ({
    type: 'Feature',
    id: r.id,
    geometry: r.geometry,
    properties: {
      id: r.id, name: r.name, kind: r.kind, status: r.status, statusAt: r.status_at.toISOString(), presence: r.presence,
      positionAt: r.position_at?.toISOString() ?? null, accuracyMetres: r.position_accuracy_m,
      homeGridId: r.home_grid_id, homeGridCode: r.home_grid_code, activeIncidentId: r.active_incident_id,
    },
  }));
  return { type: 'FeatureCollection' as const, features, numberMatched: count.n, numberReturned: features.length };
}

/**
 * System work for the demo simulator (all generated responders, no viewer): the next position of
 * each available responder without an account, `stepMetres` along its nearest road edge (within
 * 300 m), forwards or — at the edge's end — backwards; without a road nearby, a small step east or
 * west so that it still reports. At most `max`, the longest silent first.
 */
export async function nextDemoPositionsUnscoped(db: Db, stepMetres: number, max: number): Promise<{ id: string; lon: number; lat: number }[]> {
  // Two LATERAL joins and a CASE over the edge's fraction: clearer as the SQL it is.
  const step = sql`${stepMetres}::float8`;
  const { rows } = await sql<{ id: string; lon: number; lat: number }>`
    SELECT r.id::text AS id, ST_X(coalesce(m.p, j.p)) AS lon, ST_Y(coalesce(m.p, j.p)) AS lat
      FROM responders r
      LEFT JOIN LATERAL (
        SELECT e.geom, e.length_m FROM road_edges e
         WHERE ST_DWithin(e.geom, r.position, 0.003)
         ORDER BY e.geom <-> r.position LIMIT 1) e ON e.length_m > 0
      LEFT JOIN LATERAL (
        SELECT ST_LineInterpolatePoint(e.geom,
                 CASE WHEN f + ${step} / e.length_m <= 1
                           AND (extract(epoch FROM now())::bigint / 300 + (hashtext(r.id::text) & 1)) % 2 = 0
                      THEN f + ${step} / e.length_m
                      WHEN f - ${step} / e.length_m >= 0 THEN f - ${step} / e.length_m
                      ELSE least(1, f + ${step} / e.length_m) END) AS p
          FROM (SELECT ST_LineLocatePoint(e.geom, r.position) AS f) x) m ON e.geom IS NOT NULL
      CROSS JOIN LATERAL (
        SELECT ST_Translate(r.position, CASE WHEN hashtext(r.id::text) & 1 = 0 THEN 1 ELSE -1 END
                                        * ${step} / (111320 * cos(radians(ST_Y(r.position)))), 0) AS p) j
     WHERE r.user_id IS NULL AND r.status = 'available' AND r.position IS NOT NULL
     ORDER BY r.position_at NULLS FIRST, r.id
     LIMIT ${max}`.execute(db);
  return rows;
}
