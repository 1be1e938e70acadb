/**
 * The detail of one incident beyond its Feature: the timeline (incident_transitions, with the
 * photos attached to each step) and the photos' metadata. Callers have already checked that the
 * viewer sees the incident.
 */
import type { Db } from '../../db/transaction.js';
import { compiledOnce } from '../../db/compiled.js';

export const photoUrl = (incidentId: string, photoId: string) => `/api/incidents/${incidentId}/photos/${photoId}`;

// Compiled once (db/compiled.ts): they run for every incident detail and every write's answer.
const stepRows = compiledOnce((db: Db, [incidentId]: [string]) =>
  db
    .selectFrom('incident_transitions as t')
    .leftJoin('responders as r', 'r.id', 't.responder_id')
    .leftJoin('incident_ratings as ra', 'ra.transition_id', 't.id')
    .select([
      't.id', 't.action', 't.from_status', 't.to_status', 't.actor_id', 't.actor_name', 't.note', 't.responder_id',
      'r.name as responder_name', 't.department_code', 't.escalation_level', 't.minutes', 'ra.score', 't.at',
    ])
    .where('t.incident_id', '=', incidentId)
    .orderBy('t.id'));

const photoRowsOf = compiledOnce((db: Db, [incidentId]: [string]) =>
  db
    .selectFrom('incident_photos')
    .select(['id', 'content_type', 'byte_size', 'transition_id', 'created_at'])
    .where('incident_id', '=', incidentId)
    .orderBy('created_at')
    .orderBy('id'));

/**
 * The timeline (steps in order, each with the ids of the photos attached to it) and the photos'
 * metadata, oldest first: two statements at once on the pool (inside a transaction they queue on
 * its connection); the steps' photo ids come from the photo list.
 */
export async function timelineAndPhotos(db: Db, incidentId: string) {
  const [steps, photoRows] = await Promise.all([stepRows(db, incidentId), photoRowsOf(db, incidentId)]);
  const photos = photoRows.map((p) => ({
    id: p.id,
    url: photoUrl(incidentId, p.id),
    contentType: p.content_type,
    byteSize: p.byte_size,
    transitionId: p.transition_id === null ? null : String(p.transition_id),
    createdAt: p.created_at.toISOString(),
  }));
  const timeline = steps.map((t) => ({
    id: String(t.id),
    action: t.action,
    fromStatus: t.from_status,
    toStatus: t.to_status,
    actor: t.actor_id ? { id: t.actor_id, name: t.actor_name ?? '' } : null,
    note: t.note,
    responder: t.responder_id ? { id: t.responder_id, name: t.responder_name ?? '' } : null,
    departmentCode: t.department_code,
    escalationLevel: t.escalation_level,
    minutes: t.minutes,
    score: t.score,
    at: t.at.toISOString(),
    photoIds: photoRows.filter((p) => p.transition_id === t.id).map((p) => p.id),
  }));
  return { timeline, photos };
}
