/**
 * One step of the lifecycle, as the write runWrite runs (incidents.service.ts): lock the incident
 * the caller sees, check the step against lifecycle.ts (status, actor, note), the expected version,
 * photos and the dispatch target, then write the incident, the timeline row(s) and the responders'
 * statuses, and return the live events. Every check happens before the first write, and the only
 * conditional write that can fail (the claim of a responder) comes first, so a refused step
 * writes nothing.
 */
import type { Transaction } from 'kysely';
import type { DB } from '../../db/types.js';
import { ApiError } from '../../plugins/errors.js';
import type { LiveEventInput } from '../../live/events.js';
import { responderStatus } from '../responders/responders.events.js';
import { actionsFrom, LIFECYCLE, mayAct, noteRequired, statusAfter, takesMinutes, takesScore, type IncidentAction, type IncidentStatus } from './lifecycle.js';
import { actorContext, actorName, incidentState, iso, type Caller } from './incidents.feature.js';
import { incidentUpdated, type Assignee, type Changes } from './incidents.events.js';
import {
  attachPhotos, claimResponder, countDetachedPhotos, freeResponder, insertRating, insertTransition, lockIncident, setExtension, setSuspension, updateIncidentStep,
  type LockedIncident, type ResponderChange, type TransitionRow,
} from './incidents.writes.repository.js';
import { departmentExists } from './incidents.repository.js';
import { appendAudit, type AuditContext } from '../audit/audit.repository.js';

export interface TransitionInput {
  action: IncidentAction;
  note?: string;
  photoIds?: string[];
  responderId?: string;
  departmentCode?: string;
  /** A dispatch over the current assignee (a reassignment, 改派) says so; without it 409 ALREADY_ASSIGNED. */
  reassign?: boolean;
  /** 延期: the minutes asked for (request_extension) or granted (approve_extension). */
  minutes?: number;
  /** 评价: the score (1–5) and an optional comment. */
  score?: number;
  comment?: string;
  expectedVersion?: number;
}

const alreadyRated = () =>
  new ApiError(409, 'ALREADY_RATED', 'this closure of the incident is rated already; it can be rated again after it is reopened and closed again');

/** Checks the step against the lifecycle, the actor, the note and the version (in that order). */
function checkStep(inc: LockedIncident, c: Caller, input: TransitionInput): string | null {
  const { action } = input;
  const from = inc.status;
  const state = incidentState(inc);
  const { suspended, extensionPending } = state;
  if (action === 'rate' && from === 'closed' && state.rated) throw alreadyRated();
  if (!actionsFrom(from, state).includes(action)) {
    // `status` is the HTTP status in a problem (RFC 9457), so the incident's status is `currentStatus`.
    const why = suspended ? `"${action}" is not possible while the incident is suspended (挂起): resume it first`
      : action.endsWith('_extension') ? `"${action}" is not possible ${extensionPending ? 'while an extension request is pending' : 'without a pending extension request'}`
        : `"${action}" is not possible from "${from}"`;
    throw new ApiError(409, 'INVALID_TRANSITION', why, { currentStatus: from, suspended, extensionPending, allowed: actionsFrom(from, state) });
  }
  if (!mayAct(action, actorContext(inc, c))) throw new ApiError(403, 'FORBIDDEN', `you may not "${action}" this incident`);
  if (action === 'dispatch' && from === 'dispatched' && !input.reassign) {
    const assignee = { responderId: inc.assignee_id, departmentCode: inc.assignee_department };
    throw new ApiError(409, 'ALREADY_ASSIGNED', 'the incident is dispatched already; to reassign it (改派) send reassign: true with a note (the reason)', { assignee });
  }
  const note = input.note?.trim() || null;
  if (noteRequired(action, from) && !note) throw new ApiError(422, 'NOTE_REQUIRED', `"${action}" from "${from}" needs a note (the reason)`);
  if (takesMinutes(action) !== (input.minutes !== undefined)) {
    throw new ApiError(400, 'VALIDATION_FAILED', takesMinutes(action)
      ? `"${action}" needs minutes (asked for, or granted)` : `"${action}" takes no minutes`);
  }
  if (takesScore(action) !== (input.score !== undefined) || (input.comment !== undefined && !takesScore(action)) || (takesScore(action) && input.note !== undefined)) {
    throw new ApiError(400, 'VALIDATION_FAILED', takesScore(action)
      ? `"${action}" needs a score (1–5) and takes an optional comment, not a note` : `"${action}" takes no score or comment`);
  }
  if (input.score !== undefined && !(input.score >= 1 && input.score <= 5)) {
    throw new ApiError(422, 'INVALID_PARAMETER', `score must be 1 to 5, not ${input.score}`, { parameter: 'score' });
  }
  if (input.expectedVersion !== undefined && input.expectedVersion !== inc.version) {
    throw new ApiError(409, 'VERSION_CONFLICT', `the incident is at version ${inc.version}, not ${input.expectedVersion}; reload it`, { version: inc.version });
  }
  return note;
}

/** The dispatch target, a department checked or a responder claimed (the claim is the step's first write). */
async function dispatchTarget(trx: Transaction<DB>, c: Caller, input: TransitionInput, offlineSeconds: number) {
  if ((input.responderId === undefined) === (input.departmentCode === undefined)) {
    throw new ApiError(400, 'VALIDATION_FAILED', 'dispatch needs exactly one of responderId or departmentCode');
  }
  if (input.departmentCode !== undefined) {
    if (!(await departmentExists(trx, input.departmentCode))) throw new ApiError(422, 'UNKNOWN_DEPARTMENT', `no department "${input.departmentCode}"`);
    return { assignee: { responderId: null, departmentCode: input.departmentCode }, claimed: undefined };
  }
  const claimed = await claimResponder(trx, input.responderId!, { offlineSeconds, areaCode: c.areaCode });
  if (!claimed) {
    throw new ApiError(409, 'RESPONDER_UNAVAILABLE', 'the responder is not available (busy, off duty, offline, outside your area or unknown)', { responderId: input.responderId });
  }
  return { assignee: { responderId: claimed.id, departmentCode: null }, claimed };
}

/** A responder.status event of a responder the step claimed or set free (placed by its home grid, else the incident's). */
const statusEvent = (r: ResponderChange, inc: LockedIncident, status: string, from: string) =>
  responderStatus({ responderId: r.id, scopeCode: r.scope_code ?? inc.grid_code ?? '', districtId: r.district_id }, status, from);

/** Takes the step (see the file comment); returns the live events to publish. */
export async function applyTransition(
  trx: Transaction<DB>,
  c: Caller,
  incidentId: string,
  input: TransitionInput,
  opts: { offlineSeconds: number; audit: AuditContext },
): Promise<LiveEventInput[]> {
  const inc = await lockIncident(trx, c, incidentId);
  if (!inc) throw new ApiError(404, 'NOT_FOUND', `no incident "${incidentId}"`);
  const { action } = input;
  const rule = LIFECYCLE[action];
  const from = inc.status;
  const note = checkStep(inc, c, input);

  // Photos: only on steps that take proof, only this incident's photos not yet attached to a step.
  const photoIds = [...new Set(input.photoIds ?? [])];
  if (photoIds.length) {
    if (!rule.photos) throw new ApiError(422, 'INVALID_PHOTOS', `"${action}" does not take photos (resolve and verify do)`);
    if ((await countDetachedPhotos(trx, inc.id, photoIds)) !== photoIds.length) {
      throw new ApiError(422, 'INVALID_PHOTOS', 'photoIds must name photos uploaded to this incident and not yet attached to a step');
    }
  }
  if (action === 'resolve' && inc.photo_required && photoIds.length === 0) {
    throw new ApiError(422, 'PHOTO_REQUIRED', `resolving a "${inc.category}" incident needs a photo as proof (the category requires one)`);
  }

  const before: Assignee = { responderId: inc.assignee_id, departmentCode: inc.assignee_department };
  const subjectOf = (status: IncidentStatus, assignee: Assignee) => ({
    id: inc.id, status, priority: inc.priority, category: inc.category, gridCode: inc.grid_code, districtId: inc.district_id,
    lon: inc.lon, lat: inc.lat, assignee,
  });
  const step = { incidentId: inc.id, districtId: inc.district_id, actorId: c.id, actorName: actorName(c), escalationLevel: inc.escalation_level };
  // The steps that move the deadlines or score the handling (挂起, 延期, 评价) are in the audit log
  // too, with what they changed, besides the timeline.
  const audited = (changes: Changes) => appendAudit(trx, opts.audit, {
    action: `incident.${action}`, entity: 'incident', entityId: inc.id,
    before: Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.from])),
    after: { ...Object.fromEntries(Object.entries(changes).map(([k, v]) => [k, v.to])), ...(note ? { note } : {}) },
  });

  // 挂起 / 恢复: the clocks stop or restart; status, assignee and responders stay as they are.
  if (action === 'suspend' || action === 'resume') {
    const { version, since } = await setSuspension(trx, inc.id, action === 'suspend' ? { suspend: true, userId: c.id } : { suspend: false });
    await insertTransition(trx, { ...step, action, from, to: from, note });
    const changes: Changes = { suspendedSince: { from: iso(inc.suspended_since), to: iso(since) }, version: { from: inc.version, to: version } };
    await audited(changes);
    return [incidentUpdated(subjectOf(from, before), action, changes, before)];
  }

  // 延期: asked for, granted (the overall deadline moves by exactly the minutes granted) or refused.
  if (action === 'request_extension' || action === 'approve_extension' || action === 'refuse_extension') {
    const change = action === 'request_extension' ? { request: input.minutes!, userId: c.id }
      : action === 'approve_extension' ? { grant: input.minutes! } : { refuse: true as const };
    const version = await setExtension(trx, inc.id, change);
    await insertTransition(trx, { ...step, action, from, to: from, note, minutes: input.minutes ?? null });
    const changes: Changes = {
      pendingExtensionMinutes: { from: inc.extension_pending_minutes, to: action === 'request_extension' ? input.minutes! : null },
      ...(action === 'approve_extension' ? { grantedMinutes: { from: null, to: input.minutes! } } : {}),
      version: { from: inc.version, to: version },
    };
    await audited(changes);
    return [incidentUpdated(subjectOf(from, before), action, changes, before)];
  }

  // 评价: the rating of the current closure, on the timeline (the comment as its note) and in the ratings.
  if (action === 'rate') {
    const comment = input.comment?.trim() || null;
    const transitionId = await insertTransition(trx, { ...step, action, from, to: from, note: comment });
    const version = await insertRating(trx, {
      incidentId: inc.id, districtId: inc.district_id, transitionId, score: input.score!, comment,
      departmentCode: inc.assignee_department, responderId: inc.assignee_id, userId: c.id, userName: actorName(c),
    });
    if (version === undefined) throw alreadyRated();
    const changes: Changes = { rating: { from: null, to: input.score! }, version: { from: inc.version, to: version } };
    await audited({ ...changes, ...(comment ? { comment: { from: null, to: comment } } : {}) });
    return [incidentUpdated(subjectOf(from, before), action, changes, before)];
  }

  const dispatch = action === 'dispatch';
  const target = dispatch ? await dispatchTarget(trx, c, input, opts.offlineSeconds) : undefined;
  const after: Assignee = target?.assignee ?? before;
  const responderEvents: LiveEventInput[] = [];
  if (target?.claimed) responderEvents.push(statusEvent(target.claimed, inc, 'busy', 'available'));

  // Responders set free: the previous assignee on a reassignment, the assignee on resolve/reject.
  const freeing = before.responderId && ((dispatch && after.responderId !== before.responderId) || action === 'resolve' || action === 'reject');
  if (freeing) {
    for (const r of await freeResponder(trx, before.responderId!, inc.id)) responderEvents.push(statusEvent(r, inc, 'available', 'busy'));
  }

  const to = statusAfter(action, from);
  const version = await updateIncidentStep(trx, inc.id, to, target?.assignee);

  // The timeline: dispatching a reported incident records its acceptance first.
  const rows: TransitionRow[] = [];
  if (dispatch && from === 'reported') rows.push({ ...step, action: 'accept', from, to: 'accepted' });
  rows.push({
    ...step, action, from: rows.length ? 'accepted' : from, to, note,
    responderId: target?.assignee.responderId ?? null, departmentCode: target?.assignee.departmentCode ?? null,
  });
  let lastId = 0;
  for (const row of rows) lastId = await insertTransition(trx, row);
  if (photoIds.length) await attachPhotos(trx, inc.id, lastId, photoIds);

  const changes: Changes = { status: { from, to }, version: { from: inc.version, to: version } };
  if (after.responderId !== before.responderId) changes.assigneeResponderId = { from: before.responderId, to: after.responderId };
  if (after.departmentCode !== before.departmentCode) changes.assigneeDepartment = { from: before.departmentCode, to: after.departmentCode };
  return [incidentUpdated(subjectOf(to, after), action, changes, before), ...responderEvents];
}
