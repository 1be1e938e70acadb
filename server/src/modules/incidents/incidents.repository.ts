/**
 * Reads of incidents: the feature query (one shape for the list, the detail and the answer after
 * a write), the filtered list, the stats, categories and departments, and the reporter contact.
 * Lists and details follow the incident rule of auth/scope.ts (grid in scope, or assigned to the
 * viewer); stats count by grid only.
 */
import { sql, type AliasedRawBuilder, type Selectable, type SqlBool } from 'kysely';
import type { DB } from '../../db/types.js';
import { jsonArrayFrom } from 'kysely/helpers/postgres';
import type { Db } from '../../db/transaction.js';
import { compiledOnce } from '../../db/compiled.js';
import { likeLiteral } from '../../db/text.js';
import { stX, stY } from '../../db/postgis.js';
import type { Viewer } from '../../auth/scope.js';
import { codeInScope, incidentVisible, type IncidentRefs } from '../../auth/scope.repository.js';
import { INCIDENT_STATUSES } from './lifecycle.js';
import { toFeature, type Caller, type IncidentRow } from './incidents.feature.js';
import { PRIORITIES } from './incidents.schemas.js';

/**
 * The two clocks (issue 12). The step limit: the end of the current step (statusSince + the
 * category's limit for the status; it restarts with every step). The overall deadline (`due_at`,
 * set at report: migration 0014). Both null when closed (or, for the step, unlimited); both move
 * on with the time suspended (`SUSPENDED_FOR`, while 挂起: migration 0015), so they stand still.
 */
const SUSPENDED_FOR = sql<unknown>`coalesce(now() - i.suspended_since, interval '0')`;
const STEP_DUE_AT = sql<Date | null>`(CASE WHEN i.status <> 'closed' THEN i.status_since + tl.limit_minutes * interval '1 minute' + i.step_paused + ${SUSPENDED_FOR} END)`;
const DEADLINE = sql<Date | null>`(CASE WHEN i.status <> 'closed' THEN i.due_at + ${SUSPENDED_FOR} END)`;
const STEP_OVERDUE = sql<boolean>`coalesce(${STEP_DUE_AT} < now(), false)`;
const DEADLINE_OVERDUE = sql<boolean>`coalesce(${DEADLINE} < now(), false)`;
/** Overdue on either clock. */
const OVERDUE = sql<boolean>`(${STEP_OVERDUE} OR ${DEADLINE_OVERDUE})`;

/** The columns of `incidents i` / `grids g` the visibility rule reads. */
export const INCIDENT_REFS: IncidentRefs = {
  gridCode: sql.ref('g.code'),
  assigneeResponderId: sql.ref('i.assignee_responder_id'),
  assigneeDepartment: sql.ref('i.assignee_department'),
};

/** A row source named `i` with the columns of incidents: the table, or a CTE of new rows (intake). */
type IncidentSource = 'incidents as i' | AliasedRawBuilder<Selectable<DB['incidents']>, 'i'>;

/** Incidents with everything the Feature shows joined (the time limit for dueAt and overdue). */
function featureFrom(db: Db, from: IncidentSource = 'incidents as i') {
  return db
    // Typed as the table: a source given here has the table's columns.
    .selectFrom(from as 'incidents as i')
    .leftJoin('grids as g', 'g.id', 'i.grid_id')
    .leftJoin('areas as c', 'c.id', 'g.community_id')
    .leftJoin('users as u', 'u.id', 'i.reported_by')
    .leftJoin('responders as r', 'r.id', 'i.assignee_responder_id')
    .leftJoin('incident_time_limits as tl', (j) => j.onRef('tl.category', '=', 'i.category').onRef('tl.status', '=', 'i.status'));
}

function selectFeature(q: ReturnType<typeof featureFrom>) {
  return q.select((eb) => [
    'i.id',
    stX(eb.ref('i.location')).as('lon'),
    stY(eb.ref('i.location')).as('lat'),
    'i.category', 'i.priority', 'i.status', 'i.status_since', 'i.description', 'i.address', 'i.grid_id',
    'g.code as grid_code', 'g.name as grid_name', 'c.name as community_name', 'i.near_border',
    jsonArrayFrom(
      eb.selectFrom('grids as ng').select(['ng.id', 'ng.code', 'ng.name']).where('ng.id', '=', eb.fn.any('i.near_grid_ids')).orderBy('ng.code'),
    ).as('near_grids'),
    'i.reported_at', 'i.reported_by', eb.fn.coalesce('u.display_name', 'u.username').as('reported_by_name'),
    'i.assignee_responder_id as assignee_id', 'r.name as assignee_name', 'i.assignee_department', 'i.assigned_at',
    'i.escalation_level', STEP_DUE_AT.as('step_due_at'), DEADLINE.as('due_at'),
    STEP_OVERDUE.as('step_overdue'), DEADLINE_OVERDUE.as('deadline_overdue'), 'i.suspended_since', 'i.suspended_by',
    'i.extension_minutes', 'i.extension_pending_minutes', 'i.extension_pending_at', 'i.closure_rated',
    jsonArrayFrom(
      eb.selectFrom('incident_ratings as ra')
        .select(['ra.score', 'ra.comment', 'ra.rated_by as by_id', 'ra.rated_by_name as by_name', 'ra.rated_at as at'])
        .whereRef('ra.incident_id', '=', 'i.id').orderBy('ra.id'),
    ).as('ratings'),
    'i.closed_at', 'i.version',
    eb.selectFrom('incident_photos as p').select((p) => p.fn.countAll<number>().as('n')).whereRef('p.incident_id', '=', 'i.id').as('photo_count'),
  ]);
}

/**
 * An incident by id as the Feature shows it, for a viewer (`areaCode` null: unscoped, system work);
 * compiled once per shape of viewer (db/compiled.ts).
 */
const featureRow = compiledOnce(
  (db: Db, [id, areaCode, responderId, departmentCode]: [string, string | null, string | null, string | null], shape: string) => {
    const q = selectFeature(featureFrom(db)).where('i.id', '=', id);
    if (shape === 'unscoped') return q;
    const [everything, hasResponder, hasDepartment] = shape.split(',');
    const v: Viewer = {
      id: '',
      areaCode: everything === 'all' ? '*' : areaCode ?? '',
      responderId: hasResponder === 'r' ? responderId : null,
      departmentCode: hasDepartment === 'd' ? departmentCode : null,
    };
    return q.where(incidentVisible(v, INCIDENT_REFS));
  },
  (_id, areaCode, responderId, departmentCode) =>
    areaCode === null ? 'unscoped' : `${areaCode === '*' ? 'all' : 'area'},${responderId ? 'r' : ''},${departmentCode ? 'd' : ''}`,
);

/**
 * The Feature columns of the row the intake inserts in the same statement (a statement does not
 * see its own inserts, so the feature query reads the inserting CTE `cte` instead of the table).
 */
export function newIncidentFeature(db: Db, cte: string) {
  return selectFeature(featureFrom(db, sql<Selectable<DB['incidents']>>`${sql.table(cte)}`.as('i')));
}

/** One incident the viewer sees (its grid in scope, or assigned to it); undefined otherwise. */
export async function getIncidentRow(db: Db, v: Viewer, id: string): Promise<IncidentRow | undefined> {
  const [row] = await featureRow(db, id, v.areaCode, v.responderId, v.departmentCode);
  return row;
}

/** One incident whoever may see it: the answer after a write that moved it out of the writer's view. */
export async function getIncidentRowUnscoped(db: Db, id: string): Promise<IncidentRow | undefined> {
  const [row] = await featureRow(db, id, null, null, null);
  return row;
}

const reporterContact = compiledOnce((db: Db, [id]: [string]) =>
  db.selectFrom('incidents').select('reporter_contact').where('id', '=', id));

/** The reporter's contact (sensitive: never in a list; the caller audits the read). */
export async function getReporterContact(db: Db, id: string): Promise<string | null> {
  const [row] = await reporterContact(db, id);
  return row?.reporter_contact ?? null;
}

export interface ListOptions {
  status?: string[];
  category?: string;
  priority?: string[];
  gridCode?: string;
  overdue?: boolean;
  escalated?: boolean;
  suspended?: boolean;
  /** 评价: closed incidents whose current closure is rated, or not yet. */
  rated?: boolean;
  /** Only these incidents (the ones behind a department figure). */
  ids?: string[];
  from?: Date;
  to?: Date;
  q?: string;
  assignedToMe?: boolean;
  department?: string;
  sort?: '-reportedAt' | 'reportedAt' | '-priority' | 'dueAt' | 'stepDueAt';
  limit: number;
  offset: number;
}

const PRIORITY_RANK = sql<number>`array_position(ARRAY[${sql.join(PRIORITIES.map((p) => sql.lit(p)))}]::text[], i.priority)`;

/** The incidents the caller sees, filtered, sorted and paged, with the number matched. */
export async function listIncidents(db: Db, c: Caller, o: ListOptions) {
  let q = featureFrom(db).where(incidentVisible(c, INCIDENT_REFS));
  if (o.status?.length) q = q.where('i.status', 'in', o.status);
  if (o.category) q = q.where('i.category', '=', o.category);
  if (o.priority?.length) q = q.where('i.priority', 'in', o.priority);
  if (o.gridCode) q = q.where('g.code', 'like', sql<string>`${o.gridCode} || '%'`);
  if (o.overdue !== undefined) q = q.where(o.overdue ? OVERDUE : sql<SqlBool>`NOT ${OVERDUE}`);
  if (o.escalated !== undefined) q = q.where('i.escalation_level', o.escalated ? '>=' : '=', o.escalated ? 1 : 0);
  if (o.suspended !== undefined) q = q.where('i.suspended_since', o.suspended ? 'is not' : 'is', null);
  if (o.rated !== undefined) q = q.where('i.status', '=', 'closed').where('i.closure_rated', '=', o.rated);
  if (o.ids) q = o.ids.length ? q.where('i.id', 'in', o.ids) : q.where(sql<SqlBool>`false`);
  if (o.from) q = q.where('i.reported_at', '>=', o.from);
  if (o.to) q = q.where('i.reported_at', '<', o.to);
  if (o.q) {
    const pattern = likeLiteral(o.q);
    q = q.where((eb) => eb.or([eb('i.description', 'ilike', pattern), eb('i.address', 'ilike', pattern)]));
  }
  if (o.assignedToMe) {
    if (c.responderId) q = q.where('i.assignee_responder_id', '=', c.responderId);
    else if (c.departmentCode) q = q.where('i.assignee_department', '=', c.departmentCode);
    else q = q.where(sql<SqlBool>`false`);
  }
  if (o.department) q = q.where('i.assignee_department', '=', o.department);

  let page = selectFeature(q);
  switch (o.sort ?? '-reportedAt') {
    case '-reportedAt':
      page = page.orderBy('i.reported_at', 'desc').orderBy('i.id', 'desc');
      break;
    case 'reportedAt':
      page = page.orderBy('i.reported_at', 'asc').orderBy('i.id', 'asc');
      break;
    case '-priority':
      page = page.orderBy(PRIORITY_RANK, 'desc').orderBy('i.reported_at', 'desc').orderBy('i.id', 'desc');
      break;
    case 'dueAt':
      page = page.orderBy(DEADLINE, (ob) => ob.asc().nullsLast()).orderBy('i.reported_at', 'asc').orderBy('i.id', 'asc');
      break;
    case 'stepDueAt':
      page = page.orderBy(STEP_DUE_AT, (ob) => ob.asc().nullsLast()).orderBy('i.reported_at', 'asc').orderBy('i.id', 'asc');
      break;
  }
  const [rows, count] = await Promise.all([
    page.limit(o.limit).offset(o.offset).execute(),
    q.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const features = rows.map((r) => toFeature(r, c));
  return { type: 'FeatureCollection' as const, features, numberMatched: count.n, numberReturned: features.length };
}

/**
 * Counts of the incidents whose grid is in the viewer's area (assignments outside it are not
 * counted: stats describe an area, like tiles and collections).
 */
export async function incidentStats(db: Db, v: Viewer) {
  const rows = await db
    .selectFrom('incidents as i')
    .leftJoin('grids as g', 'g.id', 'i.grid_id')
    .leftJoin('incident_time_limits as tl', (j) => j.onRef('tl.category', '=', 'i.category').onRef('tl.status', '=', 'i.status'))
    .where(codeInScope(sql.ref('g.code'), v.areaCode))
    .groupBy('i.status')
    .select((eb) => [
      'i.status',
      eb.fn.countAll<number>().as('n'),
      eb.fn.countAll<number>().filterWhere(OVERDUE).as('overdue'),
      eb.fn.countAll<number>().filterWhere(STEP_OVERDUE).as('step_overdue'),
      eb.fn.countAll<number>().filterWhere(DEADLINE_OVERDUE).as('deadline_overdue'),
      eb.fn.countAll<number>().filterWhere('i.priority', '=', 'urgent').as('urgent'),
      eb.fn.countAll<number>().filterWhere('i.escalation_level', '>=', 1).as('escalated'),
      eb.fn.countAll<number>().filterWhere('i.suspended_since', 'is not', null).as('suspended'),
    ])
    .execute();
  const byStatus: Record<string, number> = Object.fromEntries(INCIDENT_STATUSES.map((s) => [s, 0]));
  const totals = { open: 0, overdue: 0, stepOverdue: 0, deadlineOverdue: 0, urgentOpen: 0, escalated: 0, suspended: 0 };
  for (const r of rows) {
    byStatus[r.status] = r.n;
    // Overdue needs a due time, and closed incidents have none.
    totals.overdue += r.overdue;
    totals.stepOverdue += r.step_overdue;
    totals.deadlineOverdue += r.deadline_overdue;
    if (r.status === 'closed') continue;
    totals.open += r.n;
    totals.urgentOpen += r.urgent;
    totals.escalated += r.escalated;
    totals.suspended += r.suspended;
  }
  return { ...totals, byStatus };
}

/** The categories in their order, with their department, step limits (minutes per status) and overall limit (minutes). */
export async function listCategories(db: Db) {
  const [categories, limits] = await Promise.all([
    db.selectFrom('incident_categories').select(['code', 'name_zh', 'name_en', 'department_code', 'photo_required', 'overall_limit_minutes']).orderBy('sort').orderBy('code').execute(),
    db.selectFrom('incident_time_limits').select(['category', 'status', 'limit_minutes']).execute(),
  ]);
  return categories.map((c) => ({
    code: c.code,
    nameZh: c.name_zh,
    nameEn: c.name_en,
    departmentCode: c.department_code,
    timeLimits: Object.fromEntries(limits.filter((l) => l.category === c.code).map((l) => [l.status, l.limit_minutes])),
    overallLimitMinutes: c.overall_limit_minutes,
    photoRequired: c.photo_required,
  }));
}

/** The departments in their order. */
export async function listDepartments(db: Db) {
  const rows = await db.selectFrom('departments').select(['code', 'name_zh', 'name_en']).orderBy('sort').orderBy('code').execute();
  return rows.map((d) => ({ code: d.code, nameZh: d.name_zh, nameEn: d.name_en }));
}

/** Sets what an admin may change of a category; false when there is no such category. */
export async function updateCategory(db: Db, code: string, change: { photoRequired?: boolean }): Promise<boolean> {
  const res = await db
    .updateTable('incident_categories')
    .set({ ...(change.photoRequired !== undefined && { photo_required: change.photoRequired }) })
    .where('code', '=', code)
    .executeTakeFirst();
  return res.numUpdatedRows > 0n;
}

/** True when `code` names a department (a dispatch's target, a department account's queue). */
export async function departmentExists(db: Db, code: string): Promise<boolean> {
  return (await db.selectFrom('departments').select('code').where('code', '=', code).executeTakeFirst()) !== undefined;
}
