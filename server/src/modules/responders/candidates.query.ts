/**
 * The two statements of the nearest-responder candidates (candidates.service.ts), in raw pg: on an
 * external database they run as named statements — prepared once per connection, because planning
 * them costs more than running them — which Kysely cannot send.
 */
import type pg from 'pg';
import { type AreaCode } from '../../auth/scope.js';
import { codeInScopeText } from '../../auth/scope.repository.js';
import type { Tier } from './ranking.js';
import { presenceText } from './responders.repository.js';

/** Grids whose outlines come this close (degrees, ~1 m) count as touching: neighbours. */
const TOUCH_DEGREES = 0.00001;

/** The incident as the candidates need it, with the road network's change marker. */
export interface CandidatesIncident {
  id: string;
  lon: number;
  lat: number;
  gridId: string | null;
  nearGridIds: string[];
  /** road_network_state.version and noded_version, as text. */
  networkVersion: string;
  nodedVersion: string;
}

/** A prefiltered candidate with its tier and geodesic straight-line distance. */
export interface CandidateRow {
  id: string;
  name: string;
  kind: string;
  status: string;
  presence: 'online' | 'stale';
  /** Seconds since the responder's last position. */
  ageSeconds: number;
  homeGridId: string | null;
  homeGridCode: string | null;
  tier: Tier;
  lon: number;
  lat: number;
  straightMetres: number;
}

/**
 * Named statements or not. Not on the embedded database: pglite-socket serves every connection on
 * PGlite's one session, where a second connection's PREPARE of the same name fails ("prepared
 * statement already exists").
 */
export interface StatementMode {
  named: boolean;
}

/** The incident (when its grid is in `areaCode`) and, in the same statement, the road network's marker. */
export async function candidatesIncident(pool: pg.Pool, mode: StatementMode, incidentId: string, areaCode: AreaCode): Promise<CandidatesIncident | undefined> {
  const { rows } = await pool.query<CandidatesIncident>({
    name: mode.named ? 'candidates-incident' : undefined,
    text: `SELECT i.id::text AS id, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.grid_id::text AS "gridId",
              coalesce(i.near_grid_ids::text[], '{}') AS "nearGridIds",
              s.version::text AS "networkVersion", s.noded_version::text AS "nodedVersion"
         FROM incidents i
         LEFT JOIN grids g ON g.id = i.grid_id
         CROSS JOIN road_network_state s
        WHERE i.id = $1 AND ${codeInScopeText('g.code', '$2')}`,
    values: [incidentId, areaCode],
  });
  return rows[0];
}

export interface CandidatesFilter {
  areaCode: AreaCode;
  /** KNN prefilter size. */
  limit: number;
  onlineSeconds: number;
  offlineSeconds: number;
}

/**
 * Available responders in scope whose presence is not offline: the nearest `limit` by KNN
 * (`ORDER BY position <-> location`, GiST index), plus every such responder of the incident's own
 * and neighbouring grids (so the ladder can prefer them even when KNN would not reach them).
 */
export async function candidateResponders(pool: pg.Pool, mode: StatementMode, incident: CandidatesIncident, f: CandidatesFilter): Promise<CandidateRow[]> {
  const point = 'ST_SetSRID(ST_MakePoint($1, $2), 4326)';
  // Presence "not offline" written as position_at + interval > now(): the column's statistics always
  // lag behind live positions, so "position_at > now() - interval" is estimated at a handful of rows
  // and the planner sorts every responder instead of walking the KNN index (13 ms vs 0.2 ms on the
  // city preset); an expression has no statistics and gets the default estimate.
  const eligible = `r.status = 'available' AND r.position_at + make_interval(secs => $6) > now() AND ${codeInScopeText('g.code', '$3')}`;
  const { rows } = await pool.query<CandidateRow>({
    name: mode.named ? 'candidates-responders' : undefined,
    text: `WITH nb AS (
         SELECT n.id FROM grids ig JOIN grids n ON n.id <> ig.id AND ST_DWithin(n.geom, ig.geom, ${TOUCH_DEGREES})
          WHERE ig.id = $4::uuid
         UNION
         SELECT unnest($5::uuid[])
       ), home AS (
         SELECT $4::uuid AS id WHERE $4::uuid IS NOT NULL
         UNION
         SELECT id FROM nb
       ), picked AS (
         (SELECT r.id FROM responders r LEFT JOIN grids g ON g.id = r.home_grid_id
           WHERE ${eligible} ORDER BY r.position <-> ${point} LIMIT $8)
         UNION
         (SELECT r.id FROM home h JOIN responders r ON r.home_grid_id = h.id LEFT JOIN grids g ON g.id = r.home_grid_id
           WHERE ${eligible})
       )
       SELECT r.id::text AS id, r.name, r.kind, r.status, ${presenceText('r.position_at', '$7', '$6')} AS presence,
              greatest(0, extract(epoch FROM now() - r.position_at))::float8 AS "ageSeconds",
              r.home_grid_id::text AS "homeGridId", g.code AS "homeGridCode",
              CASE WHEN r.home_grid_id = $4::uuid THEN 'own_grid'
                   WHEN r.home_grid_id IN (SELECT id FROM nb) THEN 'neighbour_grid' ELSE 'other' END AS tier,
              ST_X(r.position) AS lon, ST_Y(r.position) AS lat,
              ST_Distance(r.position::geography, ${point}::geography) AS "straightMetres"
         FROM picked JOIN responders r ON r.id = picked.id
         LEFT JOIN grids g ON g.id = r.home_grid_id`,
    values: [incident.lon, incident.lat, f.areaCode, incident.gridId, incident.nearGridIds,
      f.offlineSeconds, f.onlineSeconds, f.limit],
  });
  return rows;
}
