/**
 * All SQL of the department scores (考评, issue 12): the tasks of a time range — each dispatch to a
 * department, of an incident in the caller's scope and area — measured from the timeline, and the
 * figures per department; the incidents behind a figure; the score's weights.
 *
 * Hand-written: the measures are lateral look-ups along each incident's timeline (the task's end,
 * its first start and resolve, the time suspended within a span) and ordered-set aggregates
 * (percentile_cont), which the query builder cannot say. One statement each.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Db } from '../../db/transaction.js';
import type { AreaCode } from '../../auth/scope.js';
import type { IncidentsFigure, WeightsValue } from './kpis.schemas.js';
import { WEIGHT_FIGURES } from './kpis.schemas.js';

/** Which tasks: dispatched in [from, to) to any department, of incidents whose grid is in scope and in the area. */
export interface TaskRange {
  from: Date;
  to: Date;
  scope: AreaCode;
  area: string | null;
}

/** Time the incident `k` was suspended (挂起) within [a, b]: each suspension until its resumption, or now. */
const pausedWithin = (a: RawBuilder<unknown>, b: RawBuilder<unknown>) => sql`(
  SELECT coalesce(sum(greatest(interval '0', least(coalesce(rs.at, now()), ${b}) - greatest(su.at, ${a}))), interval '0')
  FROM incident_transitions su
  LEFT JOIN LATERAL (
    SELECT x.at FROM incident_transitions x WHERE x.incident_id = su.incident_id AND x.action = 'resume' AND x.id > su.id ORDER BY x.id LIMIT 1
  ) rs ON true
  WHERE su.incident_id = k.incident_id AND su.action = 'suspend' AND su.at < ${b})`;

/** The first `action` step of the task `k`'s incident after its dispatch and before its end. */
const firstWithin = (action: string) => sql`(
  SELECT n.id, n.at FROM incident_transitions n
  WHERE n.incident_id = k.incident_id AND n.id > k.id AND (k.end_id IS NULL OR n.id < k.end_id) AND n.action = ${action}
  ORDER BY n.id LIMIT 1)`;

const minutes = (span: RawBuilder<unknown>) => sql`(extract(epoch FROM ${span}) / 60)`;

/**
 * The tasks with their measures (a CTE body named `measured`): one row per dispatch to a
 * department in the range; the task ends at the incident's next dispatch or reject.
 */
function measuredTasks(r: TaskRange) {
  const area = r.area ?? '';
  return sql`
    tasks AS (
      SELECT t.id, t.incident_id, t.department_code AS dept, t.at AS dispatched_at, i.category, i.due_at, e.id AS end_id,
             coalesce(e.action = 'reject', false) AS rejected
      FROM incident_transitions t
      JOIN incidents i ON i.id = t.incident_id
      JOIN grids g ON g.id = i.grid_id
      LEFT JOIN LATERAL (
        SELECT n.id, n.action FROM incident_transitions n
        WHERE n.incident_id = t.incident_id AND n.id > t.id AND n.action IN ('dispatch', 'reject') ORDER BY n.id LIMIT 1
      ) e ON true
      WHERE t.action = 'dispatch' AND t.department_code IS NOT NULL AND t.at >= ${r.from} AND t.at < ${r.to}
        AND (${r.scope}::text = '*' OR g.code LIKE ${r.scope}::text || '%')
        AND g.code LIKE ${area}::text || '%'
    ),
    -- Materialised: each measure is computed once per task, however many aggregates read it.
    measured AS MATERIALIZED (
      SELECT k.id, k.incident_id, k.dept, k.rejected, k.due_at, s.at AS started_at, rv.id AS resolve_id, rv.at AS resolved_at,
             ${minutes(sql`s.at - k.dispatched_at - ${pausedWithin(sql`k.dispatched_at`, sql`s.at`)}`)} AS start_min,
             ${minutes(sql`rv.at - k.dispatched_at - ${pausedWithin(sql`k.dispatched_at`, sql`rv.at`)}`)} AS resolve_min,
             tl.limit_minutes AS start_limit,
             rv.id IS NOT NULL AND EXISTS (
               SELECT 1 FROM incident_transitions o
               WHERE o.incident_id = k.incident_id AND o.action = 'reopen' AND o.id > rv.id
                 AND NOT EXISTS (
                   SELECT 1 FROM incident_transitions d2
                   WHERE d2.incident_id = k.incident_id AND d2.action = 'dispatch' AND d2.id > rv.id AND d2.id < o.id)
             ) AS reopened
      FROM tasks k
      LEFT JOIN LATERAL ${firstWithin('start')} s ON true
      LEFT JOIN LATERAL ${firstWithin('resolve')} rv ON true
      LEFT JOIN incident_time_limits tl ON tl.category = k.category AND tl.status = 'dispatched'
    )`;
}

/** Conditions on a `measured` row `m`, one per figure whose incidents can be listed. */
const ON_TIME_START = sql`(m.started_at IS NOT NULL AND (m.start_limit IS NULL OR m.start_min <= m.start_limit))`;
const FIGURE_FILTER: Record<IncidentsFigure, RawBuilder<unknown>> = {
  received: sql`true`,
  startedOnTime: ON_TIME_START,
  startedLate: sql`(m.started_at IS NOT NULL AND NOT ${ON_TIME_START})`,
  resolved: sql`m.resolved_at IS NOT NULL`,
  resolvedLate: sql`(NOT m.rejected AND (m.resolved_at > m.due_at OR (m.resolved_at IS NULL AND m.due_at < now())))`,
  rejected: sql`m.rejected`,
  reopened: sql`m.reopened`,
  rated: sql`EXISTS (SELECT 1 FROM incident_ratings ra WHERE ra.incident_id = m.incident_id AND ra.department_code = m.dept)`,
};

export interface DepartmentFigures {
  code: string;
  name_zh: string;
  name_en: string;
  received: number;
  started_on_time: number;
  median_start: number | null;
  p90_start: number | null;
  median_resolve: number | null;
  p90_resolve: number | null;
  on_time_share: number | null;
  reject_share: number | null;
  reopen_share: number | null;
  mean_rating: number | null;
  ratings: number;
}

const round1 = (x: RawBuilder<unknown>) => sql`round((${x})::numeric, 1)::float8`;

/** The statement of the figures of every department (those without tasks too), in the departments' order. */
export function departmentFiguresSql(r: TaskRange) {
  // Aggregated per department first, then joined to every department: the ratings are read once per
  // department, not once per task.
  return sql<DepartmentFigures>`
    WITH ${measuredTasks(r)},
    figures AS (
      SELECT m.dept,
        count(*)::int AS received,
        (count(*) FILTER (WHERE ${ON_TIME_START}))::int AS started_on_time,
        ${round1(sql`percentile_cont(0.5) WITHIN GROUP (ORDER BY m.start_min)`)} AS median_start,
        ${round1(sql`percentile_cont(0.9) WITHIN GROUP (ORDER BY m.start_min)`)} AS p90_start,
        ${round1(sql`percentile_cont(0.5) WITHIN GROUP (ORDER BY m.resolve_min)`)} AS median_resolve,
        ${round1(sql`percentile_cont(0.9) WITHIN GROUP (ORDER BY m.resolve_min)`)} AS p90_resolve,
        (count(*) FILTER (WHERE NOT m.rejected AND m.resolved_at <= m.due_at))::float8
          / nullif(count(*) FILTER (WHERE NOT m.rejected AND (m.resolved_at IS NOT NULL OR m.due_at < now())), 0) AS on_time_share,
        (count(*) FILTER (WHERE m.rejected))::float8 / count(*) AS reject_share,
        (count(*) FILTER (WHERE m.reopened))::float8 / nullif(count(m.resolved_at), 0) AS reopen_share
      FROM measured m
      GROUP BY m.dept
    ),
    rated AS (
      SELECT ra.department_code AS dept, avg(ra.score) AS mean, count(*)::int AS n
      FROM incident_ratings ra
      JOIN (SELECT DISTINCT incident_id, dept FROM tasks) k ON k.incident_id = ra.incident_id AND k.dept = ra.department_code
      GROUP BY ra.department_code
    )
    SELECT d.code, d.name_zh, d.name_en,
      coalesce(f.received, 0) AS received, coalesce(f.started_on_time, 0) AS started_on_time,
      f.median_start, f.p90_start, f.median_resolve, f.p90_resolve, f.on_time_share, f.reject_share, f.reopen_share,
      round(rt.mean, 2)::float8 AS mean_rating, coalesce(rt.n, 0) AS ratings
    FROM departments d
    LEFT JOIN figures f ON f.dept = d.code
    LEFT JOIN rated rt ON rt.dept = d.code
    ORDER BY d.sort, d.code`;
}

/** The figures of every department (departmentFiguresSql). */
export async function departmentFigures(db: Db, r: TaskRange): Promise<DepartmentFigures[]> {
  return (await departmentFiguresSql(r).execute(db)).rows;
}

/** The incidents behind a figure of one department (newest task first), at most `limit`. */
export async function incidentsOfFigure(db: Db, r: TaskRange, department: string, figure: IncidentsFigure, limit: number): Promise<string[]> {
  const { rows } = await sql<{ incident_id: string }>`
    WITH ${measuredTasks(r)}
    SELECT m.incident_id FROM measured m
    WHERE m.dept = ${department} AND ${FIGURE_FILTER[figure]}
    GROUP BY m.incident_id ORDER BY max(m.id) DESC LIMIT ${limit}`.execute(db);
  return rows.map((x) => x.incident_id);
}

/** The weights of the score, and when they were last set. */
export async function readWeights(db: Db): Promise<{ weights: WeightsValue; updatedAt: Date | null }> {
  const rows = await db.selectFrom('department_kpi_weights').select(['figure', 'weight', 'updated_at']).execute();
  const weights = Object.fromEntries(WEIGHT_FIGURES.map((f) => [f, Number(rows.find((x) => x.figure === f)?.weight ?? 0)])) as WeightsValue;
  const updatedAt = rows.reduce<Date | null>((a, x) => (a === null || x.updated_at > a ? x.updated_at : a), null);
  return { weights, updatedAt };
}

/** Sets every weight (one statement). */
export async function writeWeights(db: Db, weights: WeightsValue, userId: string): Promise<void> {
  await db
    .insertInto('department_kpi_weights')
    .values(WEIGHT_FIGURES.map((figure) => ({ figure, weight: weights[figure], updated_by: userId })))
    .onConflict((oc) => oc.column('figure').doUpdateSet((eb) => ({ weight: eb.ref('excluded.weight'), updated_by: eb.ref('excluded.updated_by'), updated_at: sql`now()` })))
    .execute();
}

/** Whether an area or grid with this code exists. */
export async function areaExists(db: Db, code: string): Promise<boolean> {
  const { rows } = await sql<{ ok: boolean }>`SELECT EXISTS (SELECT 1 FROM areas WHERE code = ${code}) OR EXISTS (SELECT 1 FROM grids WHERE code = ${code}) AS ok`.execute(db);
  return rows[0].ok;
}
