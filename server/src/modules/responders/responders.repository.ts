/**
 * Responders: the signed-in worker's own record, status, position batches (the track), and the
 * scoped list. All SQL of the module except the candidates query (candidates.service.ts).
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction.js';
import { publishEvents, type LiveEventInput } from '../../live/publish.js';
import { checkBatch, parseTime, type BatchVerdict, type PositionInput, type TrackPoint } from './positions.js';

export const RESPONDER_STATUSES = ['available', 'busy', 'off_duty'] as const;
export type ResponderStatus = (typeof RESPONDER_STATUSES)[number];
export const PRESENCES = ['online', 'stale', 'offline'] as const;

export interface PresenceConfig {
  onlineSeconds: number;
  offlineSeconds: number;
}

/** Presence of `r` from its last position's age, in SQL ($on / $off are parameter placeholders). */
export function presenceSql(alias: string, on: string, off: string): string {
  return `CASE WHEN ${alias}.position_at IS NULL THEN 'offline'
               WHEN ${alias}.position_at > now() - make_interval(secs => ${on}) THEN 'online'
               WHEN ${alias}.position_at > now() - make_interval(secs => ${off}) THEN 'stale'
               ELSE 'offline' END`;
}

/** A user sees rows whose grid code extends their area code ('*': everything). */
export function scopeSql(codeColumn: string, scope: string): string {
  return `(${scope} = '*' OR ${codeColumn} LIKE ${scope} || '%')`;
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
  presence: string;
  position: Position | null;
  homeGridCode: string | null;
  activeIncidentCount: number;
}

const ISO = (col: string) => `to_char(${col} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

export async function getSelf(db: pg.Pool | pg.ClientBase, responderId: string, cfg: PresenceConfig): Promise<ResponderSelf | undefined> {
  const { rows } = await db.query<ResponderSelf>(
    `SELECT r.id::text AS id, r.name, r.kind, r.status, ${ISO('r.status_at')} AS "statusAt",
            ${presenceSql('r', '$2', '$3')} AS presence,
            CASE WHEN r.position IS NULL THEN NULL ELSE json_build_object(
              'lon', ST_X(r.position), 'lat', ST_Y(r.position), 'recordedAt', ${ISO('r.position_at')},
              'accuracyMetres', r.position_accuracy_m) END AS position,
            g.code AS "homeGridCode",
            (SELECT count(*) FROM incidents i WHERE i.assignee_responder_id = r.id
                AND i.status IN ('dispatched', 'in_progress'))::int AS "activeIncidentCount"
       FROM responders r LEFT JOIN grids g ON g.id = r.home_grid_id
      WHERE r.id = $1`,
    [responderId, cfg.onlineSeconds, cfg.offlineSeconds],
  );
  return rows[0];
}

/** The scope code of a responder's live events: its home grid's code, else its district's. */
const EVENT_SCOPE = `coalesce((SELECT code FROM grids WHERE id = r.home_grid_id), (SELECT code FROM areas WHERE id = r.district_id), '')`;

/**
 * Sets the status; publishes responder.status when it changed. Returns the previous status, or
 * undefined when the responder does not exist.
 */
export async function setStatus(pool: pg.Pool, responderId: string, status: ResponderStatus): Promise<{ from: string; changed: boolean } | undefined> {
  return withTransaction(pool, async (client) => {
    const { rows } = await client.query<{ from: string; scope: string; district: string | null }>(
      `SELECT r.status AS "from", ${EVENT_SCOPE} AS scope, r.district_id::text AS district
         FROM responders r WHERE r.id = $1 FOR UPDATE`,
      [responderId],
    );
    const before = rows[0];
    if (!before) return undefined;
    if (before.from === status) return { from: before.from, changed: false };
    await client.query('UPDATE responders SET status = $2, status_at = now(), updated_at = now() WHERE id = $1', [responderId, status]);
    await publishEvents(client, [{
      type: 'responder.status', entityId: responderId, scopeCode: before.scope, districtId: before.district,
      data: { responderId, status, from: before.from },
    }]);
    return { from: before.from, changed: true };
  });
}

export interface PositionsResult extends Omit<BatchVerdict, 'accepted'> {
  accepted: number;
  moved: boolean;
  position: Position | null;
}

/**
 * Stores a batch of positions in one transaction: locks the responder (batches of one responder
 * are checked one after another), reads the stored points around the batch's time range (and the
 * current position), checks the batch (positions.ts), inserts the accepted points, moves the current
 * position only to a point newer than it, and publishes one responder.moved with the newest position
 * when it moved.
 */
export async function recordPositions(pool: pg.Pool, responderId: string, points: PositionInput[]): Promise<PositionsResult | undefined> {
  return withTransaction(pool, async (client) => {
    const { rows: locked } = await client.query<{
      scope: string; district: string | null; lon: number | null; lat: number | null; at: Date | null; now: Date;
    }>(
      `SELECT ${EVENT_SCOPE} AS scope, r.district_id::text AS district, ST_X(r.position) AS lon, ST_Y(r.position) AS lat,
              r.position_at AS at, now() AS now
         FROM responders r WHERE r.id = $1 FOR UPDATE`,
      [responderId],
    );
    const me = locked[0];
    if (!me) return undefined;
    // Server time: the database's clock (now() is the transaction's start, good enough for 2 min).
    const nowMs = me.now.getTime();
    const times = [...new Set(points.map((p) => parseTime(p.recordedAt)).filter((t) => Number.isFinite(t)))];
    const stored: TrackPoint[] = [];
    if (times.length) {
      // For each point of the batch, the stored point at or before its time and the one after it:
      // all the stored neighbours the check can need (at most two index probes per point, however
      // long the stored track is).
      const { rows } = await client.query<{ t: Date; lon: number; lat: number }>(
        `SELECT DISTINCT s.t, s.lon, s.lat
           FROM unnest($2::timestamptz[]) AS q (t)
           CROSS JOIN LATERAL (
             (SELECT recorded_at AS t, ST_X(position) AS lon, ST_Y(position) AS lat FROM responder_positions
               WHERE responder_id = $1 AND recorded_at <= q.t ORDER BY recorded_at DESC LIMIT 1)
             UNION ALL
             (SELECT recorded_at, ST_X(position), ST_Y(position) FROM responder_positions
               WHERE responder_id = $1 AND recorded_at > q.t ORDER BY recorded_at LIMIT 1)) s`,
        [responderId, times.map((t) => new Date(t).toISOString())],
      );
      for (const r of rows) stored.push({ t: r.t.getTime(), lon: r.lon, lat: r.lat });
      // The current position counts as a stored point too (it may predate the track table).
      if (me.at && me.lon !== null && me.lat !== null && !stored.some((s) => s.t === me.at!.getTime())) {
        stored.push({ t: me.at.getTime(), lon: me.lon, lat: me.lat });
      }
    }
    const verdict = checkBatch(points, stored, nowMs);
    let moved = false;
    if (verdict.accepted.length) {
      await client.query(
        `INSERT INTO responder_positions (responder_id, recorded_at, district_id, position, accuracy_m)
         SELECT $1, p.t, $2::uuid, ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326), p.acc
           FROM jsonb_to_recordset($3::jsonb) AS p (t timestamptz, lon float8, lat float8, acc real)
         ON CONFLICT (responder_id, recorded_at) DO NOTHING`,
        [responderId, me.district, JSON.stringify(verdict.accepted.map((a) => ({
          t: new Date(a.t).toISOString(), lon: a.lon, lat: a.lat, acc: a.accuracyMetres,
        })))],
      );
      const newest = verdict.accepted.reduce((a, b) => (b.t > a.t ? b : a));
      const upd = await client.query(
        `UPDATE responders SET position = ST_SetSRID(ST_MakePoint($2, $3), 4326), position_at = $4,
                position_accuracy_m = $5, updated_at = now()
          WHERE id = $1 AND (position_at IS NULL OR position_at < $4)`,
        [responderId, newest.lon, newest.lat, new Date(newest.t).toISOString(), newest.accuracyMetres],
      );
      moved = (upd.rowCount ?? 0) > 0;
      if (moved) {
        const event: LiveEventInput = {
          type: 'responder.moved', entityId: responderId, scopeCode: me.scope, districtId: me.district,
          data: { responderId, lon: newest.lon, lat: newest.lat, recordedAt: new Date(newest.t).toISOString(), accuracyMetres: newest.accuracyMetres },
        };
        await publishEvents(client, [event]);
      }
    }
    const { rows: pos } = await client.query<{ position: Position | null }>(
      `SELECT CASE WHEN position IS NULL THEN NULL ELSE json_build_object('lon', ST_X(position), 'lat', ST_Y(position),
              'recordedAt', ${ISO('position_at')}, 'accuracyMetres', position_accuracy_m) END AS position
         FROM responders WHERE id = $1`,
      [responderId],
    );
    return { accepted: verdict.accepted.length, duplicates: verdict.duplicates, rejected: verdict.rejected, moved, position: pos[0].position };
  });
}

export interface ResponderFeature {
  type: 'Feature';
  id: string;
  geometry: { type: 'Point'; coordinates: number[] } | null;
  properties: {
    id: string; name: string; kind: string; status: string; statusAt: string; presence: string; positionAt: string | null;
    accuracyMetres: number | null; homeGridId: string | null; homeGridCode: string | null; activeIncidentId: string | null;
  };
}

export interface ListQuery {
  scope: string;
  status?: string[];
  presence?: string[];
  limit: number;
  offset: number;
}

/** The responders of the user's area as a FeatureCollection (presence computed in SQL). */
export async function listResponders(pool: pg.Pool, q: ListQuery, cfg: PresenceConfig) {
  const where = `${scopeSql('g.code', '$1')}
      AND ($2::text[] IS NULL OR r.status = ANY($2))
      AND ($3::text[] IS NULL OR ${presenceSql('r', '$4', '$5')} = ANY($3))`;
  const params = [q.scope, q.status ?? null, q.presence ?? null, cfg.onlineSeconds, cfg.offlineSeconds];
  const [page, count] = await Promise.all([
    pool.query<{ feature: ResponderFeature }>(
      `SELECT json_build_object(
                'type', 'Feature', 'id', r.id::text,
                'geometry', CASE WHEN r.position IS NULL THEN NULL ELSE ST_AsGeoJSON(r.position, 7)::json END,
                'properties', json_build_object(
                  'id', r.id::text, 'name', r.name, 'kind', r.kind, 'status', r.status,
                  'statusAt', ${ISO('r.status_at')},
                  'presence', ${presenceSql('r', '$4', '$5')},
                  'positionAt', ${ISO('r.position_at')}, 'accuracyMetres', r.position_accuracy_m,
                  'homeGridId', r.home_grid_id::text, 'homeGridCode', g.code,
                  'activeIncidentId', (SELECT i.id::text FROM incidents i WHERE i.assignee_responder_id = r.id
                                          AND i.status IN ('dispatched', 'in_progress')
                                        ORDER BY i.assigned_at DESC NULLS LAST LIMIT 1))) AS feature
         FROM responders r LEFT JOIN grids g ON g.id = r.home_grid_id
        WHERE ${where}
        ORDER BY r.id LIMIT $6 OFFSET $7`,
      [...params, q.limit, q.offset],
    ),
    pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM responders r LEFT JOIN grids g ON g.id = r.home_grid_id WHERE ${where}`,
      params,
    ),
  ]);
  return {
    type: 'FeatureCollection' as const,
    features: page.rows.map((r) => r.feature),
    numberMatched: count.rows[0].n,
    numberReturned: page.rowCount ?? page.rows.length,
  };
}
