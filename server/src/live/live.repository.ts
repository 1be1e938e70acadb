/**
 * All SQL of the live stream: appending events (writers, inside their transaction), and reading,
 * replaying and pruning them, checking the streams' sessions and listening for NOTIFY (the hub).
 */
import { sql, type Kysely } from 'kysely';
import type pg from 'pg';
import type { Viewer } from '../auth/scope.js';
import { liveEventVisible, viewerDepartment } from '../auth/scope.repository.js';
import { inTransaction, type Db } from '../db/transaction.js';
import type { DB } from '../db/types.js';
import { LIVE_CHANNEL, LIVE_EVENT_LOCK, type LiveEventInput } from './events.js';

/** Advisory lock that lets one process at a time prune old live events. */
export const LIVE_RETENTION_LOCK = 7265003;

/**
 * Appends live events inside the caller's transaction and announces them with NOTIFY (delivered
 * by PostgreSQL on commit, to every API process). Called by `runWrite` (write/write.ts) as the
 * last statement before COMMIT: it takes a transaction-scoped advisory lock so that event ids are
 * handed out in commit order and a reader that has seen id N never later sees a smaller id appear.
 * After the commit the local hub is woken, which is how the embedded database (one process, no
 * cross-process NOTIFY) delivers.
 */
export async function publishEvents(trx: Db, events: readonly LiveEventInput[]): Promise<string[]> {
  if (events.length === 0) return [];
  const rows = JSON.stringify(events.map((e) => ({
    type: e.type, entity_id: e.entityId, scope_code: e.scopeCode, district_id: e.districtId ?? null, data: e.data,
    responder_ids: e.responderIds ?? [], department_codes: e.departmentCodes ?? [],
  })));
  // One round trip: the lock (the CTE is read by the INSERT, so it is taken before any id is drawn),
  // one INSERT for the batch (the values as one JSON parameter, ids drawn in the batch's order), and
  // the NOTIFY of the newest id once every row is in.
  const { rows: [published] } = await sql<{ ids: string[] }>`
    WITH locked AS (SELECT pg_advisory_xact_lock(${LIVE_EVENT_LOCK}) AS held),
    inserted AS (
      INSERT INTO live_events (type, entity_id, scope_code, district_id, data, responder_ids, department_codes)
      SELECT e.type, e.entity_id::uuid, e.scope_code, e.district_id::uuid, e.data, e.responder_ids, e.department_codes
        FROM locked, ROWS FROM (jsonb_to_recordset(${rows}::jsonb)
               AS (type text, entity_id text, scope_code text, district_id text, data jsonb, responder_ids uuid[], department_codes text[]))
             WITH ORDINALITY AS e (type, entity_id, scope_code, district_id, data, responder_ids, department_codes, n)
       ORDER BY e.n
      RETURNING id)
    SELECT array_agg(id::text ORDER BY id) AS ids, pg_notify(${LIVE_CHANNEL}, max(id)::text) AS notified FROM inserted`.execute(trx);
  return published.ids;
}

/** A committed live event as the hub reads it: the audience is for filtering and never leaves the server. */
export interface StoredLiveEvent {
  id: number;
  type: string;
  entityId: string;
  scopeCode: string;
  responderIds: string[];
  departmentCodes: string[];
  data: Record<string, unknown>;
  /** created_at, ISO 8601. */
  at: string;
}

const eventsFrom = (db: Db) =>
  db.selectFrom('live_events').select(['id', 'type', 'entity_id', 'scope_code', 'responder_ids', 'department_codes', 'data', 'created_at']);

type EventRow = Awaited<ReturnType<ReturnType<typeof eventsFrom>['execute']>>[number];

const toEvent = (r: EventRow): StoredLiveEvent => ({
  id: r.id, type: r.type, entityId: r.entity_id, scopeCode: r.scope_code, responderIds: r.responder_ids,
  departmentCodes: r.department_codes, data: r.data as Record<string, unknown>, at: r.created_at.toISOString(),
});

/** The newest event id (0 when none was ever written). */
export async function newestLiveEventId(db: Db): Promise<number> {
  const row = await db.selectFrom('live_events').select((eb) => eb.fn.coalesce(eb.fn.max('id'), sql.lit(0)).as('id')).executeTakeFirstOrThrow();
  return row.id;
}

/** Events after `afterId`, in id order, at most `limit` (the hub's fan-out: everyone's events). */
export async function liveEventsAfter(db: Db, afterId: number, limit: number): Promise<StoredLiveEvent[]> {
  const rows = await eventsFrom(db).where('id', '>', afterId).orderBy('id').limit(limit).execute();
  return rows.map(toEvent);
}

/** The oldest and newest retained ids (null when the table is empty). */
export async function liveEventBounds(db: Db): Promise<{ min: number | null; max: number | null }> {
  return db.selectFrom('live_events').select((eb) => [eb.fn.min('id').as('min'), eb.fn.max('id').as('max')]).executeTakeFirstOrThrow();
}

/**
 * The events after `afterId` that `viewer` may see, in id order, at most `limit` (the rule of
 * auth/scope.ts eventVisible, in SQL: auth/scope.repository.ts liveEventVisible).
 */
export async function replayLiveEvents(db: Db, viewer: Viewer, afterId: number, limit: number): Promise<StoredLiveEvent[]> {
  const rows = await eventsFrom(db)
    .where('id', '>', afterId)
    .where(liveEventVisible(viewer))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

/** Who a live session belongs to now, as far as its stream's scope goes. */
export interface LiveSession {
  sessionId: string;
  role: string;
  areaCode: string;
  responderId: string | null;
  departmentCode: string | null;
}

/**
 * The sessions among `sessionIds` that are still live (not expired, not idle longer than
 * `idleSeconds`, account enabled), with their users' current role, area, responder and department.
 */
export async function liveSessions(db: Db, sessionIds: readonly string[], idleSeconds: number): Promise<LiveSession[]> {
  if (!sessionIds.length) return [];
  return db
    .selectFrom('sessions as s')
    .innerJoin('users as u', 'u.id', 's.user_id')
    .leftJoin('responders as r', 'r.user_id', 'u.id')
    .select(['s.id as sessionId', 'u.role', 'u.area_code as areaCode', 'r.id as responderId', viewerDepartment(sql.ref<string>('u.role'), sql.ref<string | null>('u.department_code')).as('departmentCode')])
    .where('s.id', 'in', sessionIds)
    .where('s.expires_at', '>', sql<Date>`now()`)
    .where('s.last_seen_at', '>', sql<Date>`now() - make_interval(secs => ${idleSeconds})`)
    .where('u.disabled', '=', false)
    .execute();
}

/**
 * System work (a job of plugins/timers.ts, not scoped): deletes events older than `days`, keeping the newest
 * event (so the table shows how far ids have gone and an unknown Last-Event-ID can be told from an
 * expired one). One process at a time: the others skip (null).
 */
export async function pruneLiveEventsForSystem(db: Kysely<DB>, days: number): Promise<number | null> {
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{ got: boolean }>`SELECT pg_try_advisory_xact_lock(${LIVE_RETENTION_LOCK}) AS got`.execute(trx);
    if (!rows[0].got) return null;
    const res = await trx
      .deleteFrom('live_events')
      .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
      .where('id', '<', (eb) => eb.selectFrom('live_events').select((e) => e.fn.max('id').as('max')))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  });
}

/**
 * Subscribes `client` — the hub's own connection, outside Kysely's pool, because a LISTEN belongs
 * to one session — to the channel that publishEvents notifies.
 */
export async function listenForLiveEvents(client: pg.ClientBase): Promise<void> {
  await client.query(`LISTEN ${LIVE_CHANNEL}`);
}
