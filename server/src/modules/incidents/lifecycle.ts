/**
 * The incident lifecycle: 上报 reported → 受理 accepted → 派遣 dispatched → 处置 in_progress → 反馈 resolved →
 * 核查 verified → 结案 closed, with 退单 rejected (the handler sends it back to the command centre, with a
 * reason) and reopened. Pure: the one table the API, the tests and the web app's action buttons follow.
 */
import type { Role } from '../../auth/permissions.js';

export const INCIDENT_STATUSES = [
  'reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'rejected', 'reopened',
] as const;
export type IncidentStatus = (typeof INCIDENT_STATUSES)[number];

/** Statuses that still need work (everything but closed); rejected and reopened are back with the command centre. */
export const OPEN_STATUSES: readonly IncidentStatus[] = INCIDENT_STATUSES.filter((s) => s !== 'closed');

/** Statuses in which an incident occupies its assigned responder (dispatch claims it, resolve/reject free it). */
export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['dispatched', 'in_progress'];

export const INCIDENT_ACTIONS = [
  'accept', 'dispatch', 'start', 'resolve', 'reject', 'verify', 'close', 'reopen', 'suspend', 'resume',
  'request_extension', 'approve_extension', 'refuse_extension', 'rate',
] as const;
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];

/**
 * Who may take an action: 'command' = admin and commander (the command centre, which may also
 * record a step on a handler's behalf); 'handler' = additionally the assigned responder's account
 * (grid worker) or a user of the assigned department; 'community' = the command centre (a commander's
 * area holds the incident's grid: the step's scope rule) or the grid worker of the incident's grid.
 */
export type Actor = 'command' | 'handler' | 'community';

export interface ActionRule {
  from: readonly IncidentStatus[];
  /** The status after the step; null: it stays (挂起/恢复 and 延期 act on the clocks only). */
  to: IncidentStatus | null;
  by: Actor;
  /** A note is required (the reason of a rejection, a reopening, or closing without handling). */
  noteRequired: boolean | ((from: IncidentStatus) => boolean);
  /** Photos may be attached as proof. */
  photos: boolean;
  /** The step takes `minutes`, required (延期: asked for, or granted; 1 … MAX_EXTENSION_MINUTES). */
  minutes?: true;
  /** The step takes a `score` (1 … 5), required, and an optional `comment` instead of a note (评价). */
  score?: true;
}

export const LIFECYCLE: Record<IncidentAction, ActionRule> = {
  accept: { from: ['reported', 'reopened'], to: 'accepted', by: 'command', noteRequired: false, photos: false },
  // Dispatching a reported incident accepts it first (both steps are on the timeline); dispatching a
  // dispatched one reassigns it (改派): asked for in so many words (`reassign`), with the reason.
  dispatch: {
    from: ['reported', 'accepted', 'dispatched', 'rejected', 'reopened'], to: 'dispatched', by: 'command', noteRequired: (from) => from === 'dispatched', photos: false,
  },
  start: { from: ['dispatched'], to: 'in_progress', by: 'handler', noteRequired: false, photos: false },
  resolve: { from: ['in_progress'], to: 'resolved', by: 'handler', noteRequired: false, photos: true },
  reject: { from: ['dispatched', 'in_progress'], to: 'rejected', by: 'handler', noteRequired: true, photos: false },
  verify: { from: ['resolved'], to: 'verified', by: 'command', noteRequired: false, photos: true },
  // Closing without handling (a duplicate, a report that needs nothing) needs a note.
  close: { from: ['verified', 'reported', 'accepted', 'rejected', 'reopened'], to: 'closed', by: 'command', noteRequired: (from) => from !== 'verified', photos: false },
  reopen: { from: ['resolved', 'verified', 'closed'], to: 'reopened', by: 'command', noteRequired: true, photos: false },
  // 挂起 (issue 12): an open incident waits for someone else (the reporter, a third party); both clocks
  // stop, and nothing but `resume` is possible meanwhile. The reason is required.
  suspend: { from: OPEN_STATUSES, to: null, by: 'handler', noteRequired: true, photos: false },
  // By the command centre, or by whoever suspended it (ActorContext.isSuspender).
  resume: { from: OPEN_STATUSES, to: null, by: 'handler', noteRequired: false, photos: false },
  // 延期 (issue 12): the handler asks for more time (the reason and the minutes; at most one request
  // pending); the command centre grants it, with the minutes granted (added to the overall deadline),
  // or refuses it, with the reason.
  request_extension: { from: OPEN_STATUSES, to: null, by: 'handler', noteRequired: true, photos: false, minutes: true },
  approve_extension: { from: OPEN_STATUSES, to: null, by: 'command', noteRequired: false, photos: false, minutes: true },
  refuse_extension: { from: OPEN_STATUSES, to: null, by: 'command', noteRequired: true, photos: false },
  // 评价 (issue 12), the last step: the community rates the handling of a closed incident, once per
  // closure (reopened and closed again, it can be rated again).
  rate: { from: ['closed'], to: null, by: 'community', noteRequired: false, photos: false, score: true },
};

/** What besides its status decides which actions an incident takes. */
export interface IncidentState {
  /** 挂起: only `resume` meanwhile. */
  suspended?: boolean;
  /** 延期 asked for and not yet answered: it can be granted or refused, not asked for again. */
  extensionPending?: boolean;
  /** 评价: the current closure is rated already (rated again only after a reopening and a new closure). */
  rated?: boolean;
}

/** The most minutes one extension may ask for or grant (30 days). */
export const MAX_EXTENSION_MINUTES = 43_200;

/** Whether `action` takes (and requires) a `score` and takes a `comment`. */
export function takesScore(action: IncidentAction): boolean {
  return LIFECYCLE[action].score === true;
}

/** Whether `action` takes (and requires) `minutes`. */
export function takesMinutes(action: IncidentAction): boolean {
  return LIFECYCLE[action].minutes === true;
}

/** The status after `action` from `from` (挂起 and 恢复 keep it). */
export function statusAfter(action: IncidentAction, from: IncidentStatus): IncidentStatus {
  return LIFECYCLE[action].to ?? from;
}

/**
 * The step an incident in a status waits for, which names its step limit (受理时限, 派遣时限, 响应时限,
 * 处置时限, 核查时限, 结案时限): the action that ends it. A rejected incident waits for a new dispatch, a
 * reopened one to be taken in again; a closed one waits for nothing.
 */
export const STEP_OF_STATUS: Record<IncidentStatus, IncidentAction | null> = {
  reported: 'accept', accepted: 'dispatch', dispatched: 'start', in_progress: 'resolve', resolved: 'verify',
  verified: 'close', closed: null, rejected: 'dispatch', reopened: 'accept',
};

/**
 * Actions possible in a status, in lifecycle order: those whose `from` includes it — while the
 * incident is suspended only `resume`, otherwise everything but `resume`; an extension is answered
 * only while one is pending, and asked for only while none is; a closure is rated once.
 */
export function actionsFrom(status: IncidentStatus, state: IncidentState = {}): IncidentAction[] {
  return INCIDENT_ACTIONS.filter((a) => {
    if (!LIFECYCLE[a].from.includes(status)) return false;
    if (state.suspended) return a === 'resume';
    if (a === 'resume') return false;
    if (a === 'approve_extension' || a === 'refuse_extension') return !!state.extensionPending;
    if (a === 'request_extension') return !state.extensionPending;
    if (a === 'rate') return !state.rated;
    return true;
  });
}

export function isCommand(role: Role): boolean {
  return role === 'admin' || role === 'commander';
}

export interface ActorContext {
  role: Role;
  /** The user's responder is the incident's assignee. */
  isAssignee: boolean;
  /** The user belongs to the incident's assigned department. */
  isAssignedDepartment: boolean;
  /** The user suspended the incident (only they, besides the command centre, may resume it). */
  isSuspender?: boolean;
  /** The user is the grid worker of the incident's grid: its area holds the grid (评价). */
  isGridWorkerOfGrid?: boolean;
}

export function mayAct(action: IncidentAction, who: ActorContext): boolean {
  if (isCommand(who.role)) return true;
  const { by } = LIFECYCLE[action];
  if (by === 'community') return who.role === 'grid_worker' && !!who.isGridWorkerOfGrid;
  if (by !== 'handler') return false;
  if (action === 'resume' && !who.isSuspender) return false;
  return (who.role === 'grid_worker' && who.isAssignee) || (who.role === 'department' && who.isAssignedDepartment);
}

/** The actions this user may take on an incident in this status and state (what the UI offers). */
export function allowedActions(status: IncidentStatus, who: ActorContext, state: IncidentState = {}): IncidentAction[] {
  return actionsFrom(status, state).filter((a) => mayAct(a, who));
}

export function noteRequired(action: IncidentAction, from: IncidentStatus): boolean {
  const rule = LIFECYCLE[action].noteRequired;
  return typeof rule === 'function' ? rule(from) : rule;
}
