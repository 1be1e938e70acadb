/**
 * The detail of one incident beyond its Feature: the timeline (incident_transitions, with the
 * photos attached to each step) and the photos' metadata. Callers have already checked that the
 * viewer sees the incident.
 */
import type { Db } from '../../db/transaction.js';

export const photoUrl = (incidentId: string, photoId: string) => `/api/incidents/${incidentId}/photos/${photoId}`;

/** The steps of an incident in order, each with the ids of the photos attached to it. */
export async function timeline(db: Db, incidentId: string) {
  const [steps, attached] = await Promise.all([
    db
      .selectFrom('incident_transitions as t')
      .leftJoin('responders as r', 'r.id', 't.responder_id')
      .select([
        't.id', 't.action', 't.from_status', 't.to_status', 't.actor_id', 't.actor_name', 't.note', 't.responder_id',
        'r.name as responder_name', 't.department_code', 't.escalation_level', 't.at',
      ])
      .where('t.incident_id', '=', incidentId)
      .orderBy('t.id')
      .execute(),
    db
      .selectFrom('incident_photos')
      .select(['id', 'transition_id'])
      .where('incident_id', '=', incidentId)
      .where('transition_id', 'is not', null)
      .orderBy('created_at')
      .orderBy('id')
      .execute(),
  ]);
  return steps.map((t) => ({
    id: String(t.id),
    action: t.action,
    fromStatus: t.from_status,
    toStatus: t.to_status,
    actor: t.actor_id ? { id: t.actor_id, name: t.actor_name ?? '' } : null,
    note: t.note,
    responder: t.responder_id ? { id: t.responder_id, name: t.responder_name ?? '' } : null,
    departmentCode: t.department_code,
    escalationLevel: t.escalation_level,
    at: t.at.toISOString(),
    photoIds: attached.filter((p) => p.transition_id === t.id).map((p) => p.id),
  }));
}

/** The photos of an incident (metadata and URL, not the bytes), oldest first. */
export async function photoList(db: Db, incidentId: string) {
  const rows = await db
    .selectFrom('incident_photos')
    .select(['id', 'content_type', 'byte_size', 'transition_id', 'created_at'])
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
  return rows.map((p) => ({
    id: p.id,
    url: photoUrl(incidentId, p.id),
    contentType: p.content_type,
    byteSize: p.byte_size,
    transitionId: p.transition_id === null ? null : String(p.transition_id),
    createdAt: p.created_at.toISOString(),
  }));
}
