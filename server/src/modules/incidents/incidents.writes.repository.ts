/**
 * The writes of an incident's life inside the caller's transaction: the new report, the locked
 * row a step starts from, the step itself with its timeline rows and attached photos, and the
 * responders a step claims or sets free (their status belongs to the incident's write).
 */
import { sql, type ExpressionBuilder } from 'kysely';
import type { DB } from '../../db/types.js';
import type { Db } from '../../db/transaction.js';
import { stX, stY } from '../../db/postgis.js';
import { type AreaCode, type Viewer } from '../../auth/scope.js';
import { codeInScope, incidentVisible } from '../../auth/scope.repository.js';
import { ACTIVE_STATUSES, type IncidentAction, type IncidentStatus } from './lifecycle.js';
import { INCIDENT_REFS } from './incidents.repository.js';

/** The incident row a step starts from, locked until the transaction ends. */
export interface LockedIncident {
  id: string;
  status: IncidentStatus;
  version: number;
  priority: string;
  category: string;
  /** The category requires a photo to resolve (migration 0012). */
  photo_required: boolean;
  assignee_id: string | null;
  assignee_department: string | null;
  reported_by: string | null;
  district_id: string | null;
  grid_code: string | null;
  lon: number;
  lat: number;
  escalation_level: number;
  /** 挂起: since when, and by whom (migration 0015); null when not suspended. */
  suspended_since: Date | null;
  suspended_by: string | null;
  /** 延期 asked for and not yet answered: the minutes (migration 0016); null when none is pending. */
  extension_pending_minutes: number | null;
  /** 评价: the current closure is rated (migration 0017). */
  closure_rated: boolean;
}

/** Locks an incident the viewer sees (FOR UPDATE); undefined when there is none. */
export async function lockIncident(trx: Db, v: Viewer, id: string): Promise<LockedIncident | undefined> {
  const row = await trx
    .selectFrom('incidents as i')
    .leftJoin('grids as g', 'g.id', 'i.grid_id')
    .innerJoin('incident_categories as c', 'c.code', 'i.category')
    .select((eb) => [
      'i.id', 'i.status', 'i.version', 'i.priority', 'i.category', 'c.photo_required', 'i.assignee_responder_id as assignee_id', 'i.assignee_department',
      'i.reported_by', 'i.district_id', 'g.code as grid_code', stX(eb.ref('i.location')).as('lon'), stY(eb.ref('i.location')).as('lat'),
      'i.escalation_level', 'i.suspended_since', 'i.suspended_by', 'i.extension_pending_minutes',
      'i.closure_rated',
    ])
    .where('i.id', '=', id)
    .where(incidentVisible(v, INCIDENT_REFS))
    .forUpdate('i')
    .executeTakeFirst();
  return row && { ...row, status: row.status as IncidentStatus };
}

/** One row of the timeline. */
export interface TransitionRow {
  incidentId: string;
  districtId: string | null;
  action: IncidentAction | 'report';
  from: IncidentStatus | null;
  to: IncidentStatus;
  actorId: string;
  actorName: string;
  note?: string | null;
  responderId?: string | null;
  departmentCode?: string | null;
  escalationLevel?: number | null;
  /** 延期: the minutes asked for or granted. */
  minutes?: number | null;
}

/** Appends a step to the timeline; returns its id. */
export async function insertTransition(trx: Db, t: TransitionRow): Promise<number> {
  const row = await trx
    .insertInto('incident_transitions')
    .values({
      incident_id: t.incidentId, district_id: t.districtId, action: t.action, from_status: t.from, to_status: t.to,
      actor_id: t.actorId, actor_name: t.actorName, note: t.note ?? null, responder_id: t.responderId ?? null,
      department_code: t.departmentCode ?? null, escalation_level: t.escalationLevel ?? null, minutes: t.minutes ?? null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/**
 * Moves the incident to `to` (a new step: status_since restarts, version + 1); a dispatch also
 * sets the assignee. Returns the new version.
 */
export async function updateIncidentStep(
  trx: Db,
  id: string,
  to: IncidentStatus,
  assign?: { responderId: string | null; departmentCode: string | null },
): Promise<number> {
  const row = await trx
    .updateTable('incidents')
    .set((eb) => ({
      status: to,
      status_since: sql`now()`,
      // A new step starts with nothing paused (the step clock; 挂起: migration 0015).
      step_paused: sql`interval '0'`,
      // A new status is a new closure or none: not rated (评价: migration 0017).
      closure_rated: false,
      version: eb('version', '+', 1),
      ...(to === 'closed' ? { closed_at: sql`now()` } : to === 'reopened' ? { closed_at: null } : {}),
      ...(assign ? { assignee_responder_id: assign.responderId, assignee_department: assign.departmentCode, assigned_at: sql`now()` } : {}),
    }))
    .where('id', '=', id)
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}

/**
 * 挂起 (`suspend`: both clocks stop, by `userId`) or its end (`resume`: the time suspended is added to
 * the overall deadline, the current step's paused time and the incident's total). The status stays;
 * returns the new version and the new suspended_since.
 */
export async function setSuspension(trx: Db, id: string, change: { suspend: true; userId: string } | { suspend: false }): Promise<{ version: number; since: Date | null }> {
  const row = await trx
    .updateTable('incidents')
    .set((eb) => change.suspend
      ? { suspended_since: sql`now()`, suspended_by: change.userId, version: eb('version', '+', 1) }
      : {
        due_at: sql`due_at + (now() - suspended_since)`,
        step_paused: sql`step_paused + (now() - suspended_since)`,
        suspended_total: sql`suspended_total + (now() - suspended_since)`,
        suspended_since: null, suspended_by: null, version: eb('version', '+', 1),
      })
    .where('id', '=', id)
    .returning(['version', 'suspended_since'])
    .executeTakeFirstOrThrow();
  return { version: row.version, since: row.suspended_since };
}

/**
 * 延期: a request pending (its minutes, by `userId`), granted (the minutes added to the overall
 * deadline and to the incident's extension total) or refused; an answer ends the request. The
 * status stays; returns the new version.
 */
export async function setExtension(
  trx: Db,
  id: string,
  change: { request: number; userId: string } | { grant: number } | { refuse: true },
): Promise<number> {
  const pendingCleared = { extension_pending_minutes: null, extension_pending_by: null, extension_pending_at: null };
  const row = await trx
    .updateTable('incidents')
    .set((eb) => ({
      ...('request' in change
        ? { extension_pending_minutes: change.request, extension_pending_by: change.userId, extension_pending_at: sql`now()` }
        : 'grant' in change
          ? { ...pendingCleared, due_at: sql`due_at + make_interval(mins => ${change.grant})`, extension_minutes: eb('extension_minutes', '+', change.grant) }
          : pendingCleared),
      version: eb('version', '+', 1),
    }))
    .where('id', '=', id)
    .returning('version')
    .executeTakeFirstOrThrow();
  return row.version;
}

/**
 * 评价: rates the incident's current closure (its latest `close` step) — the rating row, naming the
 * step's timeline row and who handled what was closed — and marks the closure rated. Returns the
 * new version, or undefined when the closure has its rating (migration 0017: held by the database
 * even if the caller's check was wrong).
 */
export async function insertRating(
  trx: Db,
  r: {
    incidentId: string; districtId: string | null; transitionId: number; score: number; comment: string | null;
    departmentCode: string | null; responderId: string | null; userId: string; userName: string;
  },
): Promise<number | undefined> {
  const rated = await trx
    .insertInto('incident_ratings')
    .values((eb) => ({
      incident_id: r.incidentId,
      district_id: r.districtId,
      closure_id: eb.selectFrom('incident_transitions as t').select((t) => t.fn.max('t.id').as('id'))
        .where('t.incident_id', '=', r.incidentId).where('t.action', '=', 'close').$asScalar(),
      transition_id: r.transitionId,
      score: r.score,
      comment: r.comment,
      department_code: r.departmentCode,
      responder_id: r.responderId,
      rated_by: r.userId,
      rated_by_name: r.userName,
    }))
    .onConflict((oc) => oc.constraint('incident_ratings_once_per_closure').doNothing())
    .returning('id')
    .executeTakeFirst();
  if (!rated) return undefined;
  const row = await trx.updateTable('incidents').set((eb) => ({ closure_rated: true, version: eb('version', '+', 1) }))
    .where('id', '=', r.incidentId).returning('version').executeTakeFirstOrThrow();
  return row.version;
}

/** How many of `photoIds` are this incident's photos not yet attached to a step. */
export async function countDetachedPhotos(trx: Db, incidentId: string, photoIds: string[]): Promise<number> {
  const row = await trx
    .selectFrom('incident_photos')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('incident_id', '=', incidentId)
    .where('id', 'in', photoIds)
    .where('transition_id', 'is', null)
    .executeTakeFirstOrThrow();
  return row.n;
}

export async function attachPhotos(trx: Db, incidentId: string, transitionId: number, photoIds: string[]): Promise<void> {
  await trx.updateTable('incident_photos').set({ transition_id: transitionId }).where('incident_id', '=', incidentId).where('id', 'in', photoIds).execute();
}

/** A responder whose status a step changed, with where its events belong. */
export interface ResponderChange {
  id: string;
  name: string;
  /** Its home grid's code (null without one). */
  scope_code: string | null;
  district_id: string | null;
}

/** The code of the home grid of the responder `r` being changed (its events' placement, its scope). */
const homeGridCode = (eb: ExpressionBuilder<DB & { r: DB['responders'] }, 'r'>) =>
  eb.selectFrom('grids as hg').select('hg.code').whereRef('hg.id', '=', 'r.home_grid_id');

/**
 * The dispatch claim: of racing dispatchers exactly one turns an available, online responder of
 * the dispatcher's area into busy; the others get undefined.
 */
export async function claimResponder(trx: Db, responderId: string, opts: { offlineSeconds: number; areaCode: AreaCode }): Promise<ResponderChange | undefined> {
  return trx
    .updateTable('responders as r')
    .set({ status: 'busy', status_at: sql`now()`, updated_at: sql`now()` })
    .where('r.id', '=', responderId)
    .where('r.status', '=', 'available')
    .where('r.position_at', '>', sql<Date>`now() - make_interval(secs => ${opts.offlineSeconds})`)
    .where((eb) => codeInScope(homeGridCode(eb).$asScalar(), opts.areaCode))
    .returning((eb) => [
      'r.id', 'r.name', 'r.district_id',
      homeGridCode(eb).as('scope_code'),
    ])
    .executeTakeFirst();
}

/** Sets a busy responder free unless it works on another active incident than `incidentId`. */
export async function freeResponder(trx: Db, responderId: string, incidentId: string): Promise<ResponderChange[]> {
  return trx
    .updateTable('responders as r')
    .set({ status: 'available', status_at: sql`now()`, updated_at: sql`now()` })
    .where('r.id', '=', responderId)
    .where('r.status', '=', 'busy')
    .where(({ not, exists, selectFrom }) => not(exists(
      selectFrom('incidents as o').select('o.id')
        .whereRef('o.assignee_responder_id', '=', 'r.id')
        .where('o.id', '<>', incidentId)
        .where('o.status', 'in', ACTIVE_STATUSES),
    )))
    .returning((eb) => [
      'r.id', 'r.name', 'r.district_id',
      homeGridCode(eb).as('scope_code'),
    ])
    .execute();
}
