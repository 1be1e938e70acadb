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

/** An incident escalated by the round, as it is after the escalation. */
export interface EscalatedRow {
  id: string;
  /** The level before and after (equal when the district already had it: a deadline passing is still recorded). */
  from_level: number;
  level: number;
  /** Which clocks ran out: the step limit, the overall deadline, or both. */
  step: boolean;
  deadline: boolean;
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
 * 督办 on both clocks (issue 12), at most `limit` open incidents per call, each with one timeline row
 * saying why: its step limit elapsed since the step began or its last step escalation (the later),
 * below the district's level — once per elapsed limit; and/or its overall deadline passed — once,
 * whatever the level; never while suspended (挂起), whose paused time the step clock skips. One level up per call (to the district at most). Rows another transaction holds
 * are skipped (the next round takes them).
 */
export async function escalateBatchForSystem(trx: Db, limit: number): Promise<EscalatedRow[]> {
  const { rows } = await sql<EscalatedRow>`
    WITH candidates AS (
      SELECT i.id, i.status_since,
             (i.escalation_level < ${MAX_ESCALATION_LEVEL} AND tl.limit_minutes IS NOT NULL
              AND now() > greatest(i.status_since + i.step_paused, coalesce(i.escalated_at, i.status_since)) + tl.limit_minutes * interval '1 minute') AS step,
             (i.deadline_escalated_at IS NULL AND i.due_at < now()) AS deadline
        FROM incidents i
        LEFT JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
       -- A suspended incident's clocks stand still (挂起): nothing runs out meanwhile.
       WHERE i.status <> 'closed' AND i.suspended_since IS NULL),
    due AS (
      SELECT i.id, i.escalation_level AS from_level, c.step, c.deadline FROM candidates c JOIN incidents i ON i.id = c.id
       WHERE c.step OR c.deadline
       ORDER BY c.status_since, c.id
       LIMIT ${limit}
       FOR UPDATE OF i SKIP LOCKED),
    up AS (
      UPDATE incidents i SET escalation_level = least(i.escalation_level + 1, ${MAX_ESCALATION_LEVEL}),
             escalated_at = CASE WHEN due.step THEN now() ELSE i.escalated_at END,
             deadline_escalated_at = CASE WHEN due.deadline THEN now() ELSE i.deadline_escalated_at END,
             version = i.version + 1
        FROM due WHERE i.id = due.id
      RETURNING i.id, due.from_level, i.escalation_level, due.step, due.deadline, i.status, i.priority, i.category, i.grid_id, i.district_id, i.location,
                i.version, i.assignee_responder_id, i.assignee_department),
    timeline AS (
      INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name, note, escalation_level)
      SELECT up.id, up.district_id, 'escalate', up.status, up.status, NULL, 'system',
             concat_ws('；',
               CASE WHEN up.step THEN '环节超时' END,
               CASE WHEN up.deadline THEN '超过总时限' END)
             || CASE up.escalation_level WHEN 1 THEN '：督办升级至街道' ELSE '：督办升级至区' END,
             up.escalation_level
        FROM up ORDER BY up.id
      RETURNING incident_id)
    SELECT up.id::text, up.from_level,
           up.escalation_level AS level, up.step, up.deadline, up.status, up.priority, up.category, g.code AS grid_code, up.district_id::text,
           ${stX(sql.ref('up.location'))} AS lon, ${stY(sql.ref('up.location'))} AS lat, up.version,
           up.assignee_responder_id::text, up.assignee_department, (SELECT count(*) FROM timeline) AS written
      FROM up LEFT JOIN grids g ON g.id = up.grid_id ORDER BY up.id`.execute(trx);
  return rows;
}
