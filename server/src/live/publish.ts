// TEMPORARY shim while the modules move to runWrite (write/write.ts) and live/live.repository.ts; deleted when none imports it.
import type pg from 'pg';

/** The event types of the live stream (`/api/live`); the live_events table allows exactly these. */
export const LIVE_EVENT_TYPES = ['incident.created', 'incident.updated', 'responder.moved', 'responder.status'] as const;
export type LiveEventType = (typeof LIVE_EVENT_TYPES)[number];

/** PostgreSQL NOTIFY channel: the payload is the id of a committed live_events row. */
export const LIVE_CHANNEL = 'wangge_live';
/** Advisory lock that orders event ids by commit (migration 0003, live_events). */
export const LIVE_EVENT_LOCK = 7265001;

export interface LiveEventInput {
  type: LiveEventType;
  /** The incident's or responder's id. */
  entityId: string;
  /**
   * Code of the grid (or area) the entity belongs to: a user sees the event when this code
   * starts with their area code ('*' sees everything).
   */
  scopeCode: string;
  districtId?: string | null;
  /** What changed: small, JSON, no sensitive fields (reporter contact never goes here). */
  data: Record<string, unknown>;
}

/**
 * Appends live events inside the caller's transaction and announces them with NOTIFY (delivered
 * by PostgreSQL on commit, to every API process). Call it as the last statement before COMMIT:
 * it takes a transaction-scoped advisory lock so that event ids are handed out in commit order
 * and a reader that has seen id N never later sees a smaller id appear. After the commit, the
 * caller wakes the local hub (`app.live.wake()`), which is how the embedded database (one
 * process, no cross-process NOTIFY) delivers.
 */
export async function publishEvents(client: pg.ClientBase, events: LiveEventInput[]): Promise<string[]> {
  if (events.length === 0) return [];
  await client.query('SELECT pg_advisory_xact_lock($1)', [LIVE_EVENT_LOCK]);
  const { rows } = await client.query<{ id: string }>(
    `INSERT INTO live_events (type, entity_id, scope_code, district_id, data)
     SELECT e.type, e.entity_id::uuid, e.scope_code, e.district_id::uuid, e.data
     FROM jsonb_to_recordset($1::jsonb) AS e (type text, entity_id text, scope_code text, district_id text, data jsonb)
     RETURNING id::text`,
    [JSON.stringify(events.map((e) => ({
      type: e.type, entity_id: e.entityId, scope_code: e.scopeCode, district_id: e.districtId ?? null, data: e.data,
    })))],
  );
  await client.query('SELECT pg_notify($1, $2)', [LIVE_CHANNEL, rows[rows.length - 1].id]);
  return rows.map((r) => r.id);
}
