/**
 * The SQL the demo simulator (simulator.ts) needs to decide what to do; everything it does goes
 * through the services. System reads: unscoped, every open incident and every demo account.
 */
import { sql } from 'kysely';
import type { Db } from '../db/transaction.js';
import { stX, stY } from '../db/postgis.js';
import { codeInScope } from '../auth/scope.repository.js';
import type { Role } from '../auth/permissions.js';

/** An account the simulator acts as: the command centre's (admin, commander) and departments'. */
export interface DemoActor {
  id: string;
  username: string;
  displayName: string | null;
  role: Role;
  areaCode: string;
  departmentCode: string | null;
}

/** The enabled command-centre and department accounts, commanders before admins, then by username. */
export async function demoActorsUnscoped(db: Db): Promise<DemoActor[]> {
  const rows = await db
    .selectFrom('users')
    .select(['id', 'username', 'display_name', 'role', 'area_code', 'department_code'])
    .where('disabled', '=', false)
    .where('role', 'in', ['commander', 'admin', 'department'])
    .orderBy((eb) => eb.case().when('role', '=', 'commander').then(0).when('role', '=', 'admin').then(1).else(2).end())
    .orderBy('username')
    .execute();
  return rows.map((u) => ({
    id: u.id, username: u.username, displayName: u.display_name, role: u.role as Role, areaCode: u.area_code, departmentCode: u.department_code,
  }));
}

/** An open incident as the simulator weighs it: its step, how long it has been in it, its limit, who handles it. */
export interface OpenIncident {
  id: string;
  status: string;
  category: string;
  version: number;
  gridCode: string | null;
  /** Seconds since the current step began (database clock). */
  elapsedSeconds: number;
  /** The step's time limit in seconds; null without one. */
  limitSeconds: number | null;
  escalationLevel: number;
  assigneeResponderId: string | null;
  assigneeName: string | null;
  /** The assignee responder's account (a person's phone), if it has one. */
  assigneeUserId: string | null;
  assigneeDepartment: string | null;
  assigneeDepartmentName: string | null;
  /** The department the category usually goes to. */
  categoryDepartment: string | null;
}

/** Every open incident, oldest step first. */
export async function openIncidentsUnscoped(db: Db): Promise<OpenIncident[]> {
  const rows = await db
    .selectFrom('incidents as i')
    .leftJoin('grids as g', 'g.id', 'i.grid_id')
    .leftJoin('incident_time_limits as tl', (j) => j.onRef('tl.category', '=', 'i.category').onRef('tl.status', '=', 'i.status'))
    .leftJoin('responders as r', 'r.id', 'i.assignee_responder_id')
    .leftJoin('departments as d', 'd.code', 'i.assignee_department')
    .leftJoin('incident_categories as c', 'c.code', 'i.category')
    .select([
      'i.id', 'i.status', 'i.category', 'i.version', 'g.code as grid_code', 'i.escalation_level',
      sql<number>`extract(epoch FROM now() - i.status_since)::float8`.as('elapsed'),
      sql<number | null>`tl.limit_minutes * 60`.as('limit_seconds'),
      'i.assignee_responder_id', 'r.name as assignee_name', 'r.user_id as assignee_user_id',
      'i.assignee_department', 'd.name_zh as department_name', 'c.department_code as category_department',
    ])
    .where('i.status', '<>', 'closed')
    .orderBy('i.status_since')
    .orderBy('i.id')
    .execute();
  return rows.map((r) => ({
    id: r.id, status: r.status, category: r.category, version: r.version, gridCode: r.grid_code,
    elapsedSeconds: r.elapsed, limitSeconds: r.limit_seconds, escalationLevel: r.escalation_level,
    assigneeResponderId: r.assignee_responder_id, assigneeName: r.assignee_name, assigneeUserId: r.assignee_user_id,
    assigneeDepartment: r.assignee_department, assigneeDepartmentName: r.department_name, categoryDepartment: r.category_department,
  }));
}

/** A place something can be reported: a building (its point on surface) or, without buildings, a grid's. */
export interface ReportSpot {
  lon: number;
  lat: number;
  name: string | null;
  address: string | null;
}

/** How many buildings lie in grids of the area (the simulator draws one by its position in id order). */
export async function countReportSpots(db: Db, areaCode: string): Promise<{ buildings: number; grids: number }> {
  const [b, g] = await Promise.all([
    db.selectFrom('buildings as b').innerJoin('grids as g', 'g.id', 'b.grid_id').select((eb) => eb.fn.countAll<number>().as('n'))
      .where(codeInScope(sql.ref('g.code'), areaCode)).executeTakeFirstOrThrow(),
    db.selectFrom('grids as g').select((eb) => eb.fn.countAll<number>().as('n')).where(codeInScope(sql.ref('g.code'), areaCode)).executeTakeFirstOrThrow(),
  ]);
  return { buildings: Number(b.n), grids: Number(g.n) };
}

/** The `n`-th building of the area's grids (id order), else the `n`-th grid: where a report is made. */
export async function reportSpot(db: Db, areaCode: string, n: number, fromBuildings: boolean): Promise<ReportSpot | undefined> {
  if (fromBuildings) {
    return db
      .selectFrom('buildings as b')
      .innerJoin('grids as g', 'g.id', 'b.grid_id')
      .select((eb) => [
        stX(sql`ST_PointOnSurface(${eb.ref('b.geom')})`).as('lon'), stY(sql`ST_PointOnSurface(${eb.ref('b.geom')})`).as('lat'),
        'b.name', 'b.address',
      ])
      .where(codeInScope(sql.ref('g.code'), areaCode))
      .orderBy('b.id')
      .offset(n)
      .limit(1)
      .executeTakeFirst();
  }
  return db
    .selectFrom('grids as g')
    .select((eb) => [
      stX(sql`ST_PointOnSurface(${eb.ref('g.geom')})`).as('lon'), stY(sql`ST_PointOnSurface(${eb.ref('g.geom')})`).as('lat'),
      'g.name', sql<string | null>`NULL`.as('address'),
    ])
    .where(codeInScope(sql.ref('g.code'), areaCode))
    .orderBy('g.code')
    .offset(n)
    .limit(1)
    .executeTakeFirst();
}
