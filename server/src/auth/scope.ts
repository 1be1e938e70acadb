/**
 * The area-scope rule, once. An account's `areaCode` is '*' (the whole installation, admins only)
 * or a 6/9/12/15-digit area or grid code; a row is in scope when the code that places it in the
 * hierarchy — its own (areas, grids) or its grid's (buildings, incidents, responders) — extends
 * the account's code. Every query applies it in SQL through the helpers here: as a Kysely
 * expression (`codeInScope`), as text for the few hand-written statements the builder cannot say
 * (`codeInScopeText`, the tile bands), and in JS for events already read (`inScope`, the live hub).
 *
 * Incidents add one rule (`incidentVisible`): besides those of its area, a responder or a
 * department sees the incidents assigned to it — in its list, detail and live stream, not in
 * tiles, collections or stats (tiles are cached per scope, not per assignee).
 *
 * Work done by the system (escalation, pruning, the simulator) is not scoped: it calls functions
 * named `…Unscoped` / `…ForSystem`, never a viewer with a made-up '*'.
 */
import { sql, type Expression, type RawBuilder, type SqlBool } from 'kysely';

/** '*' or an area/grid code prefix. */
export type AreaCode = string;

/** Who is looking: enough to apply the scope rule and the assignee rule. */
export interface Viewer {
  /** The account's id. */
  id: string;
  areaCode: AreaCode;
  /** The responder linked to the account (grid workers), if any. */
  responderId: string | null;
  /** The department the account works for (department users), if any. */
  departmentCode: string | null;
}

/** True when `areaCode` sees everything. */
export const seesEverything = (areaCode: AreaCode): boolean => areaCode === '*';

/** The rule in JS: is a row placed by `code` in the scope of `areaCode`? */
export function inScope(areaCode: AreaCode, code: string | null | undefined): boolean {
  if (seesEverything(areaCode)) return true;
  return typeof code === 'string' && code.startsWith(areaCode);
}

/**
 * The rule in SQL: `code` (a column or expression holding an area/grid code) extends `areaCode`.
 * LIKE with a literal prefix uses the code's btree index; codes are digits, so the prefix holds
 * no wildcard (the account's code is validated: auth/permissions.ts isAreaCode).
 */
export function codeInScope(code: Expression<string | null> | RawBuilder<string | null>, areaCode: AreaCode): RawBuilder<SqlBool> {
  if (seesEverything(areaCode)) return sql<SqlBool>`true`;
  return sql<SqlBool>`(${code} LIKE ${areaCode} || '%')`;
}

/**
 * The rule as SQL text for statements written by hand with numbered parameters (tiles): `codeSql`
 * and `scopeSql` are SQL expressions (a column, a placeholder such as `$4`, or `b.scope`).
 */
export function codeInScopeText(codeSql: string, scopeSql: string): string {
  return `(${scopeSql} = '*' OR ${codeSql} LIKE ${scopeSql} || '%')`;
}

/** References of an incident row the visibility rule needs. */
export interface IncidentRefs {
  /** The code of the incident's grid. */
  gridCode: Expression<string | null> | RawBuilder<string | null>;
  assigneeResponderId: Expression<string | null> | RawBuilder<string | null>;
  assigneeDepartment: Expression<string | null> | RawBuilder<string | null>;
}

/**
 * Incidents a viewer sees in lists, details and its live stream: those whose grid is in scope,
 * and those assigned to the viewer's responder or department.
 */
export function incidentVisible(v: Viewer, refs: IncidentRefs): RawBuilder<SqlBool> {
  if (seesEverything(v.areaCode)) return sql<SqlBool>`true`;
  const parts: RawBuilder<SqlBool>[] = [codeInScope(refs.gridCode, v.areaCode)];
  if (v.responderId) parts.push(sql<SqlBool>`${refs.assigneeResponderId} = ${v.responderId}::uuid`);
  if (v.departmentCode) parts.push(sql<SqlBool>`${refs.assigneeDepartment} = ${v.departmentCode}`);
  return parts.length === 1 ? parts[0] : sql<SqlBool>`(${sql.join(parts, sql` OR `)})`;
}

/** What a live event says about where its entity belongs and who handles it. */
export interface EventPlacement {
  scopeCode: string;
  /** Responders (current, and previous on a reassignment or rejection) the event concerns. */
  responderIds?: readonly string[];
  /** Departments the event concerns (current and previous assignee). */
  departmentCodes?: readonly string[];
}

/** The incident rule in JS, for events the live hub has already read. */
export function eventVisible(v: Viewer, e: EventPlacement): boolean {
  if (inScope(v.areaCode, e.scopeCode)) return true;
  if (v.responderId && e.responderIds?.includes(v.responderId)) return true;
  if (v.departmentCode && e.departmentCodes?.includes(v.departmentCode)) return true;
  return false;
}
