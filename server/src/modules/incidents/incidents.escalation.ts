/**
 * 督办: an open incident that overstays its step's time limit is escalated to the next level's
 * queue (escalation_level 0 → 1 street → 2 district), once per elapsed limit: the clock of the
 * next escalation starts at the later of the step's start and the previous escalation. Each
 * escalation writes a timeline row (action 'escalate', actor 'system') and an incident.updated
 * event. Run every minute by the incidents plugin; a transaction-scoped advisory lock lets only
 * one API process run it at a time (the others skip that round).
 */
import type pg from 'pg';
import { withTransaction } from '../../db/transaction.js';
import { publishEvents, type LiveEventInput } from '../../live/publish.js';

/** Advisory lock key of the escalation round (one API process at a time). */
export const ESCALATION_LOCK = 7265002;
export const MAX_ESCALATION_LEVEL = 2;
/** Incidents escalated per transaction; a round runs batches until none is left (bounded). */
const BATCH = 500;
const MAX_BATCHES = 20;

export interface EscalationRound {
  /** False when another process held the lock and this round did nothing. */
  ran: boolean;
  escalated: { id: string; level: number }[];
}

/** Escalates every open incident whose current limit has elapsed since its step began or its last escalation. */
export async function escalateOverdue(pool: pg.Pool): Promise<EscalationRound> {
  const escalated: { id: string; level: number }[] = [];
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const round = await withTransaction(pool, async (client) => {
      const { rows: lock } = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock($1) AS ok', [ESCALATION_LOCK]);
      if (!lock[0].ok) return undefined;
      const { rows } = await client.query<{
        id: string; level: number; status: string; priority: string; grid_code: string | null; district_id: string | null; lon: number; lat: number; version: number;
      }>(
        `WITH due AS (
           SELECT i.id FROM incidents i
             JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
            WHERE i.status <> 'closed' AND i.escalation_level < $1
              AND now() > greatest(i.status_since, coalesce(i.escalated_at, i.status_since)) + tl.limit_minutes * interval '1 minute'
            ORDER BY i.status_since, i.id
            LIMIT $2
            FOR UPDATE OF i SKIP LOCKED),
         up AS (
           UPDATE incidents i SET escalation_level = i.escalation_level + 1, escalated_at = now(), version = i.version + 1
             FROM due WHERE i.id = due.id
           RETURNING i.id, i.escalation_level, i.status, i.priority, i.grid_id, i.district_id, i.location, i.version),
         timeline AS (
           INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name, note, escalation_level)
           SELECT up.id, up.district_id, 'escalate', up.status, up.status, NULL, 'system',
                  CASE up.escalation_level WHEN 1 THEN '超时督办：升级至街道' ELSE '超时督办：升级至区' END, up.escalation_level
             FROM up ORDER BY up.id
           RETURNING incident_id)
         SELECT up.id::text, up.escalation_level AS level, up.status, up.priority, g.code AS grid_code, up.district_id::text,
                ST_X(up.location) AS lon, ST_Y(up.location) AS lat, up.version, (SELECT count(*) FROM timeline) AS written
           FROM up LEFT JOIN grids g ON g.id = up.grid_id ORDER BY up.id`,
        [MAX_ESCALATION_LEVEL, BATCH],
      );
      const events: LiveEventInput[] = rows.map((r) => ({
        type: 'incident.updated',
        entityId: r.id,
        scopeCode: r.grid_code ?? '',
        districtId: r.district_id,
        data: {
          incidentId: r.id, status: r.status, priority: r.priority, gridCode: r.grid_code, lon: r.lon, lat: r.lat, action: 'escalate',
          changes: { escalationLevel: { from: r.level - 1, to: r.level }, version: { from: r.version - 1, to: r.version } },
        },
      }));
      await publishEvents(client, events);
      return rows.map((r) => ({ id: r.id, level: r.level }));
    });
    if (round === undefined) return { ran: batch > 0, escalated };
    escalated.push(...round);
    if (round.length < BATCH) break;
  }
  return { ran: true, escalated };
}
