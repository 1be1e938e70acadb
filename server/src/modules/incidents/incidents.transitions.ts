/**
 * One step of the lifecycle, inside the caller's transaction: lock the incident (FOR UPDATE),
 * check the step against lifecycle.ts (status, actor, note), the expected version, photos and the
 * dispatch target, then write the incident, the timeline row(s), the responders' statuses, and
 * return the live events for the caller to publish as the transaction's last statement.
 * Every check happens before the first write, and the only conditional write that can fail (the
 * claim of a responder) comes first, so a refused step writes nothing.
 */
import type pg from 'pg';
import { ApiError } from '../../plugins/errors.js';
import type { LiveEventInput } from '../../live/publish.js';
import { actionsFrom, LIFECYCLE, mayAct, noteRequired, type IncidentAction, type IncidentStatus } from './lifecycle.js';
import { incidentError } from './incidents.errors.js';
import { actorName, scopeSql, UUID_RE, type Viewer } from './incidents.repository.js';

export interface TransitionInput {
  action: IncidentAction;
  note?: string;
  photoIds?: string[];
  responderId?: string;
  departmentCode?: string;
  expectedVersion?: number;
}

export interface TransitionResult {
  events: LiveEventInput[];
  fromStatus: IncidentStatus;
  toStatus: IncidentStatus;
}

interface Locked {
  id: string;
  status: IncidentStatus;
  version: number;
  priority: string;
  assignee_id: string | null;
  assignee_department: string | null;
  district_id: string | null;
  grid_code: string | null;
  lon: number;
  lat: number;
  escalation_level: number;
}

/** Statuses in which an assignee is working on an incident (it keeps its responder busy). */
export const ACTIVE_STATUSES: readonly IncidentStatus[] = ['dispatched', 'in_progress'];

export async function applyTransition(
  client: pg.ClientBase,
  v: Viewer,
  incidentId: string,
  input: TransitionInput,
  opts: { offlineSeconds: number },
): Promise<TransitionResult> {
  if (!UUID_RE.test(incidentId)) throw new ApiError(404, 'NOT_FOUND', `no incident "${incidentId}"`);
  const { rows } = await client.query<Locked>(
    `SELECT i.id::text, i.status, i.version, i.priority, i.assignee_responder_id::text AS assignee_id, i.assignee_department,
            i.district_id::text, g.code AS grid_code, ST_X(i.location) AS lon, ST_Y(i.location) AS lat, i.escalation_level
       FROM incidents i LEFT JOIN grids g ON g.id = i.grid_id
      WHERE i.id = $1::uuid AND ${scopeSql('$2', '$3')}
      FOR UPDATE OF i`,
    [incidentId, v.areaCode, v.responderId],
  );
  const inc = rows[0];
  if (!inc) throw new ApiError(404, 'NOT_FOUND', `no incident "${incidentId}"`);
  const { action } = input;
  const rule = LIFECYCLE[action];
  const from = inc.status;

  // 1. The lifecycle, 2. the actor, 3. the note, 4. the version.
  if (!rule.from.includes(from)) {
    // `status` is the HTTP status in a problem (RFC 9457), so the incident's status is `currentStatus`.
    throw incidentError(409, 'INVALID_TRANSITION', `"${action}" is not possible from "${from}"`, { currentStatus: from, allowed: actionsFrom(from) });
  }
  const who = {
    role: v.role,
    isAssignee: v.responderId !== null && inc.assignee_id === v.responderId,
    isAssignedDepartment: v.departmentCode !== null && inc.assignee_department === v.departmentCode,
  };
  if (!mayAct(action, who)) throw new ApiError(403, 'FORBIDDEN', `you may not "${action}" this incident`);
  const note = input.note?.trim() || null;
  if (noteRequired(action, from) && !note) throw incidentError(422, 'NOTE_REQUIRED', `"${action}" from "${from}" needs a note (the reason)`);
  if (input.expectedVersion !== undefined && input.expectedVersion !== inc.version) {
    throw incidentError(409, 'VERSION_CONFLICT', `the incident is at version ${inc.version}, not ${input.expectedVersion}; reload it`, { version: inc.version });
  }

  // Photos: only on steps that take proof, only this incident's photos not yet attached to a step.
  const photoIds = [...new Set(input.photoIds ?? [])];
  if (photoIds.length) {
    if (!rule.photos) throw incidentError(422, 'INVALID_PHOTOS', `"${action}" does not take photos (resolve and verify do)`);
    const { rows: ok } = await client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM incident_photos WHERE incident_id = $1 AND id = ANY ($2::uuid[]) AND transition_id IS NULL`,
      [inc.id, photoIds],
    );
    if (ok[0].n !== photoIds.length) throw incidentError(422, 'INVALID_PHOTOS', 'photoIds must name photos uploaded to this incident and not yet attached to a step');
  }

  // The dispatch target.
  const events: LiveEventInput[] = [];
  const scope = inc.grid_code ?? '';
  let target: { responderId: string | null; responderName?: string; department: string | null } | undefined;
  if (action === 'dispatch') {
    if ((input.responderId === undefined) === (input.departmentCode === undefined)) {
      throw incidentError(400, 'VALIDATION_FAILED', 'dispatch needs exactly one of responderId or departmentCode');
    }
    if (input.departmentCode !== undefined) {
      const { rowCount } = await client.query('SELECT 1 FROM departments WHERE code = $1', [input.departmentCode]);
      if (!rowCount) throw incidentError(422, 'UNKNOWN_DEPARTMENT', `no department "${input.departmentCode}"`);
      target = { responderId: null, department: input.departmentCode };
    } else {
      // The claim: of racing dispatchers exactly one turns 'available' into 'busy'.
      const { rows: claimed } = await client.query<{ id: string; name: string; scope_code: string | null; district_id: string | null }>(
        `UPDATE responders r SET status = 'busy', status_at = now(), updated_at = now()
          WHERE r.id = $1::uuid AND r.status = 'available'
            AND r.position_at > now() - make_interval(secs => $2)
            AND ($3::text = '*' OR EXISTS (SELECT 1 FROM grids hg WHERE hg.id = r.home_grid_id AND hg.code LIKE $3::text || '%'))
          RETURNING r.id::text, r.name, (SELECT hg.code FROM grids hg WHERE hg.id = r.home_grid_id) AS scope_code, r.district_id::text`,
        [input.responderId, opts.offlineSeconds, v.areaCode],
      );
      const r = claimed[0];
      if (!r) {
        throw incidentError(409, 'RESPONDER_UNAVAILABLE', 'the responder is not available (busy, off duty, offline, outside your area or unknown)', { responderId: input.responderId });
      }
      target = { responderId: r.id, responderName: r.name, department: null };
      events.push({ type: 'responder.status', entityId: r.id, scopeCode: r.scope_code ?? scope, districtId: r.district_id, data: { responderId: r.id, status: 'busy', from: 'available' } });
    }
  }

  // Responders set free: the previous assignee on a reassignment, the assignee on resolve/reject.
  const freeing =
    inc.assignee_id &&
    ((action === 'dispatch' && target!.responderId !== inc.assignee_id) || action === 'resolve' || action === 'reject')
      ? inc.assignee_id
      : null;
  if (freeing) {
    const { rows: freed } = await client.query<{ id: string; scope_code: string | null; district_id: string | null }>(
      `UPDATE responders r SET status = 'available', status_at = now(), updated_at = now()
        WHERE r.id = $1::uuid AND r.status = 'busy'
          AND NOT EXISTS (SELECT 1 FROM incidents o WHERE o.assignee_responder_id = r.id AND o.id <> $2::uuid
                             AND o.status = ANY ($3::text[]))
        RETURNING r.id::text, (SELECT hg.code FROM grids hg WHERE hg.id = r.home_grid_id) AS scope_code, r.district_id::text`,
      [freeing, inc.id, ACTIVE_STATUSES],
    );
    for (const r of freed) {
      events.push({ type: 'responder.status', entityId: r.id, scopeCode: r.scope_code ?? scope, districtId: r.district_id, data: { responderId: r.id, status: 'available', from: 'busy' } });
    }
  }

  // The incident.
  const to = rule.to;
  const dispatch = action === 'dispatch';
  const { rows: updated } = await client.query<{ version: number }>(
    `UPDATE incidents SET status = $2, status_since = now(), version = version + 1,
            closed_at = CASE WHEN $2 = 'closed' THEN now() WHEN $2 = 'reopened' THEN NULL ELSE closed_at END,
            assignee_responder_id = CASE WHEN $3 THEN $4::uuid ELSE assignee_responder_id END,
            assignee_department = CASE WHEN $3 THEN $5::text ELSE assignee_department END,
            assigned_at = CASE WHEN $3 THEN now() ELSE assigned_at END
      WHERE id = $1::uuid RETURNING version`,
    [inc.id, to, dispatch, target?.responderId ?? null, target?.department ?? null],
  );

  // The timeline: dispatching a reported incident records its acceptance first.
  const actor = [v.id, actorName(v)];
  const steps: { action: IncidentAction; from: IncidentStatus; to: IncidentStatus; note: string | null; responder: string | null; department: string | null }[] = [];
  if (dispatch && from === 'reported') steps.push({ action: 'accept', from, to: 'accepted', note: null, responder: null, department: null });
  steps.push({ action, from: steps.length ? 'accepted' : from, to, note, responder: target?.responderId ?? null, department: target?.department ?? null });
  let lastId = '';
  for (const s of steps) {
    const { rows: t } = await client.query<{ id: string }>(
      `INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name, note, responder_id, department_code, escalation_level)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id::text`,
      [inc.id, inc.district_id, s.action, s.from, s.to, actor[0], actor[1], s.note, s.responder, s.department, inc.escalation_level],
    );
    lastId = t[0].id;
  }
  if (photoIds.length) {
    await client.query('UPDATE incident_photos SET transition_id = $1 WHERE incident_id = $2 AND id = ANY ($3::uuid[])', [lastId, inc.id, photoIds]);
  }

  const changes: Record<string, { from: unknown; to: unknown }> = {
    status: { from, to },
    version: { from: inc.version, to: updated[0].version },
  };
  if (dispatch) {
    if (target!.responderId !== inc.assignee_id) changes.assigneeResponderId = { from: inc.assignee_id, to: target!.responderId };
    if (target!.department !== inc.assignee_department) changes.assigneeDepartment = { from: inc.assignee_department, to: target!.department };
  }
  events.unshift({
    type: 'incident.updated',
    entityId: inc.id,
    scopeCode: scope,
    districtId: inc.district_id,
    data: { incidentId: inc.id, status: to, priority: inc.priority, gridCode: inc.grid_code, lon: inc.lon, lat: inc.lat, action, changes },
  });
  return { events, fromStatus: from, toStatus: to };
}
