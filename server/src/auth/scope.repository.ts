/**
 * The area-scope rule of scope.ts in SQL, the one place every query takes it from: as a Kysely
 * expression (`codeInScope`), as text for the few hand-written statements the builder cannot say
 * (`codeInScopeText`: tile bands, candidates), the incident assignee rule for incident rows
 * (`incidentVisible`) and for stored live events (`liveEventVisible`), and which department an
 * account acts for (`viewerDepartment`).
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';
import { seesEverything, type AreaCode, type Viewer } from './scope.js';

type Ref<T> = Expression<T> | RawBuilder<T>;

/**
 * `code` (a column or expression holding an area/grid code) extends `areaCode`. LIKE with a
 * literal prefix uses the code's btree index; codes are digits, so the prefix holds no wildcard
 * (the account's code is validated: permissions.ts isAreaCode).
 */
export function codeInScope(code: Ref<string | null>, areaCode: AreaCode): RawBuilder<SqlBool> {
  if (seesEverything(areaCode)) return sql<SqlBool>`true`;
  return sql<SqlBool>`(${code} LIKE ${areaCode} || '%')`;
}

/**
 * The rule as SQL text for statements written by hand with numbered parameters (tiles,
 * candidates): `codeSql` and `scopeSql` are SQL expressions (a column, a placeholder such as `$4`,
 * or `b.scope`).
 */
export function codeInScopeText(codeSql: string, scopeSql: string): string {
  return `(${scopeSql} = '*' OR ${codeSql} LIKE ${scopeSql} || '%')`;
}

/** In scope by `code`, or handled by the viewer's responder or department (the assignee rule). */
function assigneeRule(
  v: Viewer,
  code: Ref<string | null>,
  handledByResponder: (responderId: string) => RawBuilder<SqlBool>,
  handledByDepartment: (departmentCode: string) => RawBuilder<SqlBool>,
): RawBuilder<SqlBool> {
  if (seesEverything(v.areaCode)) return sql<SqlBool>`true`;
  const parts = [codeInScope(code, v.areaCode)];
  if (v.responderId) parts.push(handledByResponder(v.responderId));
  if (v.departmentCode) parts.push(handledByDepartment(v.departmentCode));
  return parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

/** References of an incident row the visibility rule needs. */
export interface IncidentRefs {
  /** The code of the incident's grid. */
  gridCode: Ref<string | null>;
  assigneeResponderId: Ref<string | null>;
  assigneeDepartment: Ref<string | null>;
}

/** Incidents a viewer sees in lists and details: grid in scope, or assigned to its responder or department. */
export function incidentVisible(v: Viewer, refs: IncidentRefs): RawBuilder<SqlBool> {
  return assigneeRule(
    v,
    refs.gridCode,
    (id) => sql<SqlBool>`${refs.assigneeResponderId} = ${id}::uuid`,
    (code) => sql<SqlBool>`${refs.assigneeDepartment} = ${code}`,
  );
}

/** Stored live events (live_events) a viewer receives: the same rule over the event's scope code and audience. */
export function liveEventVisible(v: Viewer): RawBuilder<SqlBool> {
  return assigneeRule(
    v,
    sql.ref<string>('scope_code'),
    (id) => sql<SqlBool>`${id}::uuid = ANY(responder_ids)`,
    (code) => sql<SqlBool>`${code} = ANY(department_codes)`,
  );
}

/** The department an account acts for: only a department user's; a code left on another role grants nothing. */
export function viewerDepartment(role: Ref<string>, departmentCode: Ref<string | null>): RawBuilder<string | null> {
  return sql<string | null>`CASE WHEN ${role} = 'department' THEN ${departmentCode} END`;
}
