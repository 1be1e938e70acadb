/**
 * The area-scope rule, once. An account's `areaCode` is '*' (the whole installation, admins only)
 * or a 6/9/12/15-digit area or grid code; a row is in scope when the code that places it in the
 * hierarchy — its own (areas, grids) or its grid's (buildings, incidents, responders) — extends
 * the account's code. Here in JS, for what is already read (`inScope`; `eventVisible` in the live
 * hub); every query applies the same rule in SQL through scope.repository.ts.
 *
 * Incidents add one rule: besides those of its area, a department user or a responder sees the
 * incidents assigned to it — in its list, detail and live stream, not in tiles, collections or
 * stats (tiles are cached per scope, not per assignee).
 *
 * Work done by the system (escalation, pruning, the simulator) is not scoped: it calls functions
 * named `…Unscoped` / `…ForSystem`, never a viewer with a made-up '*'.
 */
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

/** What a live event says about where its entity belongs and who handles it. */
export interface EventPlacement {
  scopeCode: string;
  /** Responders (current, and previous on a reassignment) the event concerns. */
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
