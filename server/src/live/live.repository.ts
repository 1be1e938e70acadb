/**
 * All SQL of the live stream: appending events (writers, inside their transaction), and reading,
 * replaying and pruning them, checking the streams' sessions and listening for NOTIFY (the hub).
 */
import { sql, type Compilable, type Kysely, type OperationNodeSource, type RawBuilder } from 'kysely';
import type pg from 'pg';
import type { Viewer } from '../auth/scope.js';
import { liveEventVisible, viewerDepartment } from '../auth/scope.repository.js';
import { inTransaction, type Db } from '../db/transaction.js';
import { compiledOnce, executePrepared } from '../db/compiled.js';
import type { DB } from '../db/types.js';
import { LIVE_CHANNEL, LIVE_EVENT_IDS_PER_XACT, type LiveEventInput } from './events.js';

/** Advisory lock that lets one process at a time prune old live events. */
export const LIVE_RETENTION_LOCK = 7265003;

/**
 * Appends live events inside the caller's transaction. Called by `runWrite` (write/write.ts) as the
 * last statement before COMMIT. No lock: an event's id is the writer's transaction id (xid8) times
 * LIVE_EVENT_IDS_PER_XACT plus its place in the transaction (migration 0007; given by the table's
 * trigger, 0010, which also assigns the transaction its id if the write had none yet), so ids are in
 * transaction-id order and concurrent writers commit side by side; the readers deliver only the ids
 * whose transactions have all ended (`xactHorizon` below). No NOTIFY either: PostgreSQL serialises
 * every committing transaction that notifies (a database-wide lock held through its commit), which
 * made writers queue again. After the commit the writer wakes its process's hub (`app.live.wake()`),
 * which announces new events to the other API processes with one NOTIFY per fetch round
 * (`announceLiveEvents`); a writer without a hub calls that itself after its commit.
 */
export async function publishEvents(trx: Db, events: readonly LiveEventInput[], alongside?: Compilable & OperationNodeSource): Promise<string[]> {
  if (events.length === 0) {
    if (alongside) await trx.executeQuery(alongside.compile());
    return [];
  }
  if (events.length >= LIVE_EVENT_IDS_PER_XACT) {
    throw new Error(`publishEvents: at most ${LIVE_EVENT_IDS_PER_XACT - 1} live events per transaction (got ${events.length})`);
  }
  const rows = JSON.stringify(events.map((e) => ({
    type: e.type, entity_id: e.entityId, scope_code: e.scopeCode, district_id: e.districtId ?? null, data: e.data,
    responder_ids: e.responderIds ?? [], department_codes: e.departmentCodes ?? [],
  })));
  // One round trip (hand-written: ROWS FROM … WITH ORDINALITY is beyond the builder): one INSERT for
  // the batch (the values as one JSON parameter, in the batch's order; the table's trigger gives each
  // row its transaction's id and its id, migration 0010); `alongside` (runWrite's stored answer) runs
  // as a CTE of it.
  const [published] = await executePrepared(trx, sql<{ ids: string[] }>`
    WITH ${alongside ? sql`alongside AS (${alongside}), ` : sql``}inserted AS (${appendLiveEvents(sql`
      SELECT e.type, e.entity_id::uuid, e.scope_code, e.district_id::uuid, e.data, e.responder_ids, e.department_codes
        FROM ROWS FROM (jsonb_to_recordset(${rows}::jsonb)
               AS (type text, entity_id text, scope_code text, district_id text, data jsonb, responder_ids uuid[], department_codes text[]))
             WITH ORDINALITY AS e (type, entity_id, scope_code, district_id, data, responder_ids, department_codes, n)
       ORDER BY e.n`)})
    SELECT array_agg(id::text ORDER BY id) AS ids FROM inserted`);
  return published.ids;
}

/**
 * The INSERT of the live events that `rows` selects (type, entity_id, scope_code, district_id, data,
 * responder_ids, department_codes, in this order), RETURNING id: publishEvents' and that of a write
 * that is one statement (runStatementWrite, which builds its events in SQL). The table's trigger
 * gives the ids (see publishEvents).
 */
export const appendLiveEvents = (rows: RawBuilder<unknown>) => sql`
  INSERT INTO live_events (type, entity_id, scope_code, district_id, data, responder_ids, department_codes)
  ${rows}
  RETURNING id`;

/**
 * Wakes the hubs of the other API processes (NOTIFY on LIVE_CHANNEL; the payload is the newest id
 * this process has seen, for logs only): the hub after a fetch round that followed local writes, or
 * a writer without a hub after its commit. An autocommitted statement of its own, so that no writer's
 * commit waits for the NOTIFY lock.
 */
export async function announceLiveEvents(db: Db, newestId: number): Promise<void> {
  await announce(db, String(newestId));
}

const announce = compiledOnce((db: Db, [payload]: [string]) => db.selectNoFrom(sql<unknown>`pg_notify(${LIVE_CHANNEL}, ${payload})`.as('notified')));

/**
 * The xmin of the statement's own snapshot: every transaction with a smaller id has ended. Why a
 * reader may deliver exactly the events with `xact_id < xactHorizon`, in id order:
 *  - complete: such a transaction has committed or rolled back before the snapshot was taken, so
 *    its events are all visible in this statement (or were rolled back and never will be);
 *  - final: no transaction below the horizon can add an event any more, and later readers have a
 *    horizon at least as high (xmin never goes back: new transaction ids are above every running one);
 *  - a prefix: ids are xact_id * 1000 + n, so these are exactly the ids below horizon * 1000, and
 *    every event not yet visible (its transaction running, or not yet begun) has a larger id.
 * So a reader that keeps the last id it delivered and asks for `id > lastId AND xact_id < horizon`
 * never skips an event and never sees a smaller id later, though events may reach it in another
 * order than their commits. Any transaction holding an id (in any database of the cluster) holds the
 * horizon back while it runs: events behind it wait (the hub retries on a short timer).
 * Hand-written: pg_snapshot_xmin(pg_current_snapshot()) is not in the builder's vocabulary.
 */
const xactHorizon = sql<string>`(SELECT pg_snapshot_xmin(pg_current_snapshot()))`;
const isFinal = sql<boolean>`xact_id < ${xactHorizon}`;

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

/**
 * Where a reader starts: the newest final event id (see xactHorizon), or — when there is none — the
 * newest id pruning deleted (0 when none was ever written).
 */
export async function newestLiveEventId(db: Db): Promise<number> {
  const row = await db
    .selectNoFrom((eb) => eb.fn.coalesce(
      eb.selectFrom('live_events').select((e) => e.fn.max('id').as('id')).where(isFinal),
      eb.selectFrom('live_event_retention').select('pruned_through'),
      sql.lit(0),
    ).as('id'))
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

/** The hub's read, compiled once (db/compiled.ts: it runs after every write). */
const eventsAfter = compiledOnce((db: Db, [afterId, limit]: [number, number]) =>
  eventsFrom(db).select(isFinal.as('final')).where('id', '>', afterId).orderBy('id').limit(limit));

/**
 * Events after `afterId`, in id order, at most `limit` (the hub's fan-out: everyone's events): those
 * that are final (xactHorizon), and whether events after them are held back for now (written by a
 * transaction at or above the horizon: committed, or still running while an older one runs).
 */
export async function liveEventsAfter(db: Db, afterId: number, limit: number): Promise<{ events: StoredLiveEvent[]; held: boolean }> {
  const rows = await eventsAfter(db, afterId, limit);
  const events: StoredLiveEvent[] = [];
  for (const r of rows) {
    // The final rows are a prefix of the id order; stop at the first that is not, to be safe.
    if (!r.final) return { events, held: true };
    events.push(toEvent(r));
  }
  return { events, held: false };
}

/**
 * What a Last-Event-ID is checked against: the newest id pruning deleted (a smaller id has missed
 * events that are gone) and the newest id stored (null when the table is empty).
 */
export async function liveEventBounds(db: Db): Promise<{ prunedThrough: number; max: number | null }> {
  const row = await db
    .selectNoFrom((eb) => [
      eb.selectFrom('live_event_retention').select('pruned_through').as('prunedThrough'),
      eb.selectFrom('live_events').select((e) => e.fn.max('id').as('max')).as('max'),
    ])
    .executeTakeFirstOrThrow();
  return { prunedThrough: Number(row.prunedThrough ?? 0), max: row.max ?? null };
}

/**
 * The final events after `afterId` that `viewer` may see, in id order, at most `limit` (the rule of
 * auth/scope.ts eventVisible, in SQL: auth/scope.repository.ts liveEventVisible; final: xactHorizon,
 * so a replay never runs ahead of what the hubs can deliver).
 */
export async function replayLiveEvents(db: Db, viewer: Viewer, afterId: number, limit: number): Promise<StoredLiveEvent[]> {
  const rows = await eventsFrom(db)
    .where('id', '>', afterId)
    .where(isFinal)
    .where(liveEventVisible(viewer))
    .orderBy('id')
    .limit(limit)
    .execute();
  return rows.map(toEvent);
}

/**
 * A new stream's opening history: the newest final events of `types` that `viewer` may see, at most
 * `limit`, none older than `seconds` nor after `throughId` (the stream's start: what follows it
 * arrives live), oldest first.
 */
export async function recentLiveEvents(
  db: Db,
  viewer: Viewer,
  opts: { throughId: number; limit: number; seconds: number; types: readonly string[] },
): Promise<StoredLiveEvent[]> {
  const rows = await eventsFrom(db)
    .where('id', '<=', opts.throughId)
    .where('type', 'in', opts.types)
    .where('created_at', '>=', sql<Date>`now() - make_interval(secs => ${opts.seconds})`)
    .where(liveEventVisible(viewer))
    .orderBy('id', 'desc')
    .limit(opts.limit)
    .execute();
  return rows.reverse().map(toEvent);
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
 * event, and records the newest id it deleted (live_event_retention: a Last-Event-ID below it is
 * expired). One process at a time: the others skip (null).
 */
export async function pruneLiveEventsForSystem(db: Kysely<DB>, days: number): Promise<number | null> {
  return inTransaction(db, async (trx) => {
    const { rows } = await sql<{ got: boolean }>`SELECT pg_try_advisory_xact_lock(${LIVE_RETENTION_LOCK}) AS got`.execute(trx);
    if (!rows[0].got) return null;
    const gone = await trx
      .with('gone', (q) => q
        .deleteFrom('live_events')
        .where('created_at', '<', sql<Date>`now() - make_interval(days => ${days})`)
        .where('id', '<', (eb) => eb.selectFrom('live_events').select((e) => e.fn.max('id').as('max')))
        .returning('id'))
      .selectFrom('gone')
      .select((eb) => [eb.fn.countAll<number>().as('n'), eb.fn.max('id').as('max')])
      .executeTakeFirstOrThrow();
    if (gone.max !== null) {
      await trx.updateTable('live_event_retention').set({ pruned_through: sql<number>`greatest(pruned_through, ${gone.max}::bigint)` }).execute();
    }
    return Number(gone.n);
  });
}
/**
 * Subscribes `client` — the hub's own connection, outside Kysely's pool, because a LISTEN belongs
 * to one session — to the channel that publishEvents notifies.
 */
export async function listenForLiveEvents(client: pg.ClientBase): Promise<void> {
  await client.query(`LISTEN ${LIVE_CHANNEL}`);
}
