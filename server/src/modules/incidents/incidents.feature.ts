/**
 * The incident as the API answers it: a GeoJSON Feature built from one row of the feature query
 * (incidents.repository.ts), with the actions the caller may take now (lifecycle.ts).
 */
import { inScope, seesEverything, type Viewer } from '../../auth/scope.js';
import type { SessionUser } from '../../auth/sessions.js';
import { allowedActions, STEP_OF_STATUS, type ActorContext, type IncidentState, type IncidentStatus } from './lifecycle.js';

/** Who is asking: the scope rule's viewer, plus the role (lifecycle) and the name (timeline). */
export type Caller = Viewer & Pick<SessionUser, 'role' | 'username' | 'displayName'>;

/** The name written on the timeline for a step the caller takes. */
export const actorName = (c: Caller) => c.displayName ?? c.username;

/** One row of the feature query (snake_case, as PostgreSQL answers it). */
export interface IncidentRow {
  id: string;
  lon: number;
  lat: number;
  category: string;
  priority: string;
  status: string;
  status_since: Date;
  description: string;
  address: string | null;
  grid_id: string | null;
  grid_code: string | null;
  grid_name: string | null;
  community_name: string | null;
  near_border: boolean;
  near_grids: { id: string; code: string; name: string }[];
  reported_at: Date;
  reported_by: string | null;
  reported_by_name: string | null;
  assignee_id: string | null;
  assignee_name: string | null;
  assignee_department: string | null;
  assigned_at: Date | null;
  escalation_level: number;
  step_due_at: Date | null;
  due_at: Date | null;
  step_overdue: boolean;
  deadline_overdue: boolean;
  suspended_since: Date | null;
  suspended_by: string | null;
  extension_minutes: number;
  extension_pending_minutes: number | null;
  extension_pending_at: Date | null;
  closure_rated: boolean;
  ratings: { score: number; comment: string | null; by_id: string | null; by_name: string | null; at: string }[];
  closed_at: Date | null;
  version: number;
  photo_count: number | null;
}

export const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** The columns of an incident (the Feature's row, or the row a step locks) that decide what may be done with it. */
export interface ActingRow {
  grid_code: string | null;
  assignee_id: string | null;
  assignee_department: string | null;
  suspended_since: Date | null;
  suspended_by: string | null;
  extension_pending_minutes: number | null;
  closure_rated: boolean;
}

/** Who the caller is to this incident (lifecycle.ts mayAct). */
export function actorContext(row: ActingRow, c: Caller): ActorContext {
  return {
    role: c.role,
    isAssignee: c.responderId !== null && row.assignee_id === c.responderId,
    isAssignedDepartment: c.departmentCode !== null && row.assignee_department === c.departmentCode,
    isSuspender: row.suspended_by !== null && row.suspended_by === c.id,
    // The grid worker whose area holds the incident's grid (a worker's area is its grid).
    isGridWorkerOfGrid: c.role === 'grid_worker' && row.grid_code !== null && !seesEverything(c.areaCode) && inScope(c.areaCode, row.grid_code),
  };
}

/** What besides its status decides which actions the incident takes (lifecycle.ts actionsFrom). */
export function incidentState(row: ActingRow): Required<IncidentState> {
  return { suspended: row.suspended_since !== null, extensionPending: row.extension_pending_minutes !== null, rated: row.closure_rated };
}

/** The actions this caller may take on an incident in this state now (lifecycle.ts). */
export function actionsFor(row: ActingRow & { status: string }, c: Caller) {
  return allowedActions(row.status as IncidentStatus, actorContext(row, c), incidentState(row));
}

/** The Feature of a row, as the caller sees it (no reporter contact: that is added by the detail only). */
export function toFeature(row: IncidentRow, c: Caller) {
  return {
    type: 'Feature' as const,
    id: row.id,
    geometry: { type: 'Point' as const, coordinates: [row.lon, row.lat] },
    properties: {
      id: row.id,
      category: row.category,
      priority: row.priority,
      status: row.status,
      statusSince: row.status_since.toISOString(),
      description: row.description,
      address: row.address,
      gridId: row.grid_id,
      gridCode: row.grid_code,
      gridName: row.grid_name,
      communityName: row.community_name,
      nearBorder: row.near_border,
      nearGrids: row.near_grids,
      reportedAt: row.reported_at.toISOString(),
      reportedBy: row.reported_by ? { id: row.reported_by, name: row.reported_by_name ?? '' } : null,
      assignee: row.assignee_id ? { responderId: row.assignee_id, name: row.assignee_name ?? '' } : null,
      assigneeDepartment: row.assignee_department,
      assignedAt: iso(row.assigned_at),
      escalationLevel: row.escalation_level,
      // The two clocks (issue 12): the current step's limit, named by the step it waits for, and
      // the overall deadline; overdue on either.
      step: STEP_OF_STATUS[row.status as IncidentStatus],
      stepDueAt: iso(row.step_due_at),
      dueAt: iso(row.due_at),
      stepOverdue: row.step_overdue,
      deadlineOverdue: row.deadline_overdue,
      overdue: row.step_overdue || row.deadline_overdue,
      // 挂起: since when (both clocks stand still meanwhile; only resume is possible).
      suspendedSince: iso(row.suspended_since),
      // 延期: granted so far (in dueAt), and the request waiting for an answer.
      extensionMinutes: row.extension_minutes,
      pendingExtension: row.extension_pending_minutes !== null && row.extension_pending_at
        ? { minutes: row.extension_pending_minutes, at: row.extension_pending_at.toISOString() } : null,
      // 评价: every rating, oldest first (one per closure).
      ratings: row.ratings.map((r) => ({
        score: r.score, comment: r.comment, by: r.by_id ? { id: r.by_id, name: r.by_name ?? '' } : null, at: new Date(r.at).toISOString(),
      })),
      closedAt: iso(row.closed_at),
      version: row.version,
      photoCount: row.photo_count ?? 0,
      allowedActions: actionsFor(row, c) as string[],
    },
  };
}

/** An incident Feature, with the optional detail properties (timeline, photos, duplicates, contact). */
export type IncidentFeatureValue = ReturnType<typeof toFeature> & {
  properties: ReturnType<typeof toFeature>['properties'] & Record<string, unknown>;
};
