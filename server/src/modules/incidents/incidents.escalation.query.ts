/**
 * 督办 in SQL: one statement escalates a batch of overdue incidents and writes their timeline rows.
 * An `sql` template because it is a chain of data-modifying CTEs (pick with SKIP LOCKED, update,
 * insert the steps, answer with the grid codes), which the query builder cannot say as one statement.
 */
import { sql } from 'kysely';
import type { Db } from '../../db/transaction.js';
import { stX, stY } from '../../db/postgis.js';

/** Advisory lock key of the escalation round (one API process at a time). */
export const ESCALATION_LOCK = 7265002;
export const MAX_ESCALATION_LEVEL = 2;

/** True when this transaction holds the escalation lock; false when another process runs the round. */
export async function tryEscalationLock(trx: Db): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`SELECT pg_try_advisory_xact_lock(${ESCALATION_LOCK}) AS ok`.execute(trx);
  return rows[0].ok;
}

/** An incident raised one level by the round, as it is after the escalation. */
export interface EscalatedRow {
  id: string;
  level: number;
  status: string;
  priority: string;
  category: string;
  grid_code: string | null;
  district_id: string | null;
  lon: number;
  lat: number;
  version: number;
  assignee_responder_id: string | null;
  assignee_department: string | null;
}

/**
 * Raises by one level (up to the district) at most `limit` open incidents whose current limit has
 * elapsed since their step began or their last escalation (the later), with a timeline row each.
 * Rows another transaction holds are skipped (the next round takes them).
 */
export async function escalateBatchForSystem(trx: Db, limit: number): Promise<EscalatedRow[]> {
  const { rows } = await sql<EscalatedRow>`
    WITH due AS (
      SELECT i.id FROM incidents i
        JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
       WHERE i.status <> 'closed' AND i.escalation_level < ${MAX_ESCALATION_LEVEL}
         AND now() > greatest(i.status_since, coalesce(i.escalated_at, i.status_since)) + tl.limit_minutes * interval '1 minute'
       ORDER BY i.status_since, i.id
       LIMIT ${limit}
       FOR UPDATE OF i SKIP LOCKED),
    up AS (
      UPDATE incidents i SET escalation_level = i.escalation_level + 1, escalated_at = now(), version = i.version + 1
        FROM due WHERE i.id = due.id
      RETURNING i.id, i.escalation_level, i.status, i.priority, i.category, i.grid_id, i.district_id, i.location, i.version,
                i.assignee_responder_id, i.assignee_department),
    timeline AS (
      INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name, note, escalation_level)
      SELECT up.id, up.district_id, 'escalate', up.status, up.status, NULL, 'system',
             CASE up.escalation_level WHEN 1 THEN '超时督办：升级至街道' ELSE '超时督办：升级至区' END, up.escalation_level
        FROM up ORDER BY up.id
      RETURNING incident_id)
    SELECT up.id::text, up.escalation_level AS level, up.status, up.priority, up.category, g.code AS grid_code, up.district_id::text,
           ${stX(sql.ref('up.location'))} AS lon, ${stY(sql.ref('up.location'))} AS lat, up.version,
           up.assignee_responder_id::text, up.assignee_department, (SELECT count(*) FROM timeline) AS written
      FROM up LEFT JOIN grids g ON g.id = up.grid_id ORDER BY up.id`.execute(trx);
  return rows;
}
