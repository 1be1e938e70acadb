/**
 * The incident writes — report (intake), lifecycle steps and dispatch, photos, and the system's
 * escalation round — each run through runWrite (write/write.ts): one transaction, the client's
 * Idempotency-Key, the live events as its last statements; the intake, the hottest write, through
 * runStatementWrite as one statement. And the reads that span repositories:
 * the detail (timeline, photos, the audited reporter contact), the list's parameters, a photo's bytes.
 */
import type { Static } from 'typebox';
import type { CommandConfig } from '../../config.js';
import type { Db } from '../../db/transaction.js';
import type { Viewer } from '../../auth/scope.js';
import { can } from '../../auth/permissions.js';
import { ApiError } from '../../plugins/errors.js';
import type { WriteRequest } from '../../write/http.js';
import { KEY_TAKEN, runStatementWrite, runWrite, type Answer, type WriteDeps } from '../../write/write.js';
import { appendContactRead, type AuditContext } from '../audit/audit.repository.js';
import { INCIDENT_STATUSES, isCommand } from './lifecycle.js';
import { actorName, toFeature, type Caller, type IncidentFeatureValue, type IncidentRow } from './incidents.feature.js';
import { incidentUpdated } from './incidents.events.js';
import { getIncidentRow, getIncidentRowUnscoped, getReporterContact, listIncidents } from './incidents.repository.js';
import { photoUrl, timelineAndPhotos } from './incidents.timeline.repository.js';
import { reportAt, type Duplicate, type IntakeAnswerRef } from './incidents.intake.query.js';
import { lockIncident } from './incidents.writes.repository.js';
import {
  findPhoto, insertPhoto, lockUploaderBudget, namedPhotoHashes, photoCounts, uploaderBudgetWait,
} from './incidents.photos.repository.js';
import { escalateBatchForSystem, tryEscalationLock, type EscalatedRow } from './incidents.escalation.query.js';
import { applyTransition, type TransitionInput } from './incidents.transitions.js';
import { readPhotoFile, removeOrphanPhotoFiles, sha256Of, sniffImage, writePendingPhotoFile, type PendingPhotoFile } from './photos.store.js';
import {
  MAX_PENDING_PHOTOS, MAX_PHOTOS_PER_INCIDENT, PRIORITIES, type CreateIncidentBody, type ListQuery, type PhotoCreated,
} from './incidents.schemas.js';

/** What the incident writes need: the database, the live hub, and the command centre's settings. */
export interface IncidentsDeps extends WriteDeps {
  command: Pick<CommandConfig, 'offlineSeconds' | 'photoDir' | 'photoMaxBytes' | 'photoBudgetPerHour'>;
}

export type { WriteRequest } from '../../write/http.js';

const NUL = /\u0000/;

/** PostgreSQL text cannot hold NUL: refused as bad input rather than failing in the database. */
function assertText(fields: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && NUL.test(value)) throw new ApiError(400, 'VALIDATION_FAILED', `${name} must not contain NUL characters`);
  }
}

async function detailOf(db: Db, c: Caller, row: IncidentRow): Promise<IncidentFeatureValue> {
  const f = toFeature(row, c);
  return { ...f, properties: { ...f.properties, ...(await timelineAndPhotos(db, row.id)) } };
}

/** The incident with its timeline and photos, when the caller sees it. */
export async function incidentDetail(db: Db, c: Caller, id: string): Promise<IncidentFeatureValue | undefined> {
  const row = await getIncidentRow(db, c, id);
  return row && detailOf(db, c, row);
}

/** The answer after a write: the detail even when the step took the incident out of the caller's view. */
async function detailAfterWrite(db: Db, c: Caller, id: string): Promise<IncidentFeatureValue> {
  const row = (await getIncidentRow(db, c, id)) ?? (await getIncidentRowUnscoped(db, id));
  if (!row) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
  return detailOf(db, c, row);
}

/**
 * GET /api/incidents/{id}: the detail, with the reporter contact for incident.sensitive roles (each
 * read audited; repeated reads of one incident within 15 minutes are one audit row with a count).
 */
export async function incidentDetailFor(db: Db, c: Caller, id: string, audit: AuditContext): Promise<IncidentFeatureValue> {
  const detail = await incidentDetail(db, c, id);
  if (!detail) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
  if (!can(c.role, 'incident.sensitive')) return detail;
  const contact = await getReporterContact(db, id);
  if (contact !== null) await appendContactRead(db, audit, id);
  return { ...detail, properties: { ...detail.properties, reporterContact: contact } };
}

const commaList = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));

/** A list parameter's values, each one of `allowed`. */
function oneOf(name: string, value: string | undefined, allowed: readonly string[]): string[] | undefined {
  const values = commaList(value);
  const bad = values?.find((x) => !allowed.includes(x));
  if (bad !== undefined) throw new ApiError(400, 'VALIDATION_FAILED', `unknown ${name} "${bad}"`);
  return values;
}

function isoTime(name: string, s: string | undefined): Date | undefined {
  if (s === undefined) return undefined;
  const d = new Date(s);
  if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(s)) throw new ApiError(400, 'VALIDATION_FAILED', `${name} must be an ISO 8601 time`);
  return d;
}

/** GET /api/incidents: the query's lists and times checked, then the caller's page. */
export async function listIncidentsFor(db: Db, c: Caller, q: Static<typeof ListQuery>) {
  const status = oneOf('status', q.status, INCIDENT_STATUSES);
  const priority = oneOf('priority', q.priority, PRIORITIES);
  const from = isoTime('from', q.from);
  const to = isoTime('to', q.to);
  assertText({ q: q.q, category: q.category });
  return listIncidents(db, c, {
    status, priority, category: q.category, gridCode: q.gridCode, overdue: q.overdue, escalated: q.escalated, suspended: q.suspended, rated: q.rated, from, to, q: q.q,
    assignedToMe: q.assignedToMe, department: q.department, sort: q.sort, limit: q.limit, offset: q.offset,
  });
}

/** Reports an incident at a point of the caller's area: 201 with the Feature and its possible duplicates. */
export async function reportIncident(
  deps: IncidentsDeps,
  c: Caller,
  b: Static<typeof CreateIncidentBody>,
  key: string | undefined,
): Promise<Answer<IncidentFeatureValue>> {
  const [lon, lat] = b.location.coordinates;
  if (!Number.isFinite(lon) || !Number.isFinite(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90) {
    throw new ApiError(400, 'INVALID_GEOMETRY', 'location: coordinates must be finite [lon, lat] with lon in −180…180 and lat in −90…90');
  }
  assertText({ category: b.category, description: b.description, address: b.address, reporterContact: b.reporterContact });
  if (!b.description.trim()) throw new ApiError(400, 'VALIDATION_FAILED', 'description must not be blank');
  const answer = (row: IncidentRow, duplicates: Duplicate[]): IncidentFeatureValue => {
    const f = toFeature(row, c);
    return { ...f, properties: { ...f.properties, possibleDuplicates: duplicates } };
  };
  return runStatementWrite(deps, async (db, claim) => {
    const intake = await reportAt(db, c, {
      category: b.category, priority: b.priority ?? 'normal', lon, lat, address: b.address ?? null,
      description: b.description, reporterContact: b.reporterContact ?? null, actorName: actorName(c),
    }, claim);
    if (!intake.categoryKnown) throw new ApiError(422, 'UNKNOWN_CATEGORY', `no incident category "${b.category}"; see GET /api/incident-categories`);
    if (!intake.gridCode) throw new ApiError(422, 'OUTSIDE_ALL_GRIDS', `the point ${lon}, ${lat} lies outside every grid`);
    if (!intake.inScope) {
      throw new ApiError(403, 'OUT_OF_SCOPE', `the point lies in grid ${intake.gridCode}, outside your area ${c.areaCode}`, { gridCode: intake.gridCode });
    }
    if (!intake.keyClaimed || !intake.incident) return KEY_TAKEN;
    return { status: 201, body: answer(intake.incident, intake.duplicates), published: intake.published };
  }, { userId: c.id, key, route: 'POST /api/incidents', body: b }, async (stored) => {
    // The key's answer is a reference (incidents.intake.query.ts): the incident as it is now, the
    // duplicates as they were. The reporter's own incident, even if their area has changed since.
    const ref = stored as IntakeAnswerRef;
    const row = await getIncidentRowUnscoped(deps.db, ref.incidentId);
    if (!row) throw new ApiError(404, 'NOT_FOUND', 'the incident this Idempotency-Key created no longer exists');
    return answer(row, ref.possibleDuplicates);
  });
}

/** A lifecycle step (dispatch included): 200 with the incident's detail. */
export async function transitionIncident(
  deps: IncidentsDeps,
  c: Caller,
  id: string,
  input: TransitionInput,
  request: WriteRequest,
  audit: AuditContext,
): Promise<Answer<IncidentFeatureValue>> {
  assertText({ note: input.note, comment: input.comment });
  return runWrite(deps, async (trx) => {
    const events = await applyTransition(trx, c, id, input, { offlineSeconds: deps.command.offlineSeconds, audit });
    return { status: 200, body: await detailAfterWrite(trx, c, id), events };
  }, { userId: c.id, ...request });
}

/**
 * A photo for an incident (a raw JPEG, PNG or WebP body): checked by its bytes; then, in the
 * transaction, the incident (404 unknown or out of scope), who may add photos, the incident's photo
 * counts and the uploader's budget (`photoBudgetPerHour` in the last hour, 429 RATE_LIMITED with
 * Retry-After) — all before anything is written; then its row and, with a photo folder, the bytes
 * under a temporary name, moved into place after the commit (removed when it failed). 201.
 */
export async function addPhoto(
  deps: IncidentsDeps,
  c: Caller,
  id: string,
  data: unknown,
  declaredType: string,
): Promise<Answer<Static<typeof PhotoCreated>>> {
  const { photoMaxBytes, photoDir, photoBudgetPerHour } = deps.command;
  if (!Buffer.isBuffer(data) || data.length === 0) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send the image as the raw body with Content-Type image/jpeg, image/png or image/webp');
  }
  if (data.length > photoMaxBytes) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `a photo may have at most ${photoMaxBytes} bytes`);
  const declared = declaredType.split(';')[0].trim().toLowerCase();
  const sniffed = sniffImage(data);
  if (!sniffed || sniffed !== declared) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', `the bytes are not a ${declared || 'supported image'} (JPEG, PNG or WebP, checked by content)`);
  }
  const sha256 = sha256Of(data);
  // Every check runs before anything is written; the file goes aside only then and is moved into
  // place after the row committed (removed when it did not).
  const file: { pending?: PendingPhotoFile } = {};
  let answer: Answer<Static<typeof PhotoCreated>>;
  try {
    answer = await runWrite(deps, async (trx) => {
      const inc = await lockIncident(trx, c, id);
      if (!inc) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
      const mayUpload =
        isCommand(c.role) || inc.reported_by === c.id || (c.responderId !== null && inc.assignee_id === c.responderId) ||
        (c.departmentCode !== null && inc.assignee_department === c.departmentCode);
      if (!mayUpload) throw new ApiError(403, 'FORBIDDEN', 'only the command centre, the reporter or the assignee may add photos');
      if (inc.status === 'closed') throw new ApiError(409, 'CONFLICT', 'the incident is closed');
      const counts = await photoCounts(trx, inc.id);
      if (counts.pending >= MAX_PENDING_PHOTOS) throw new ApiError(409, 'TOO_MANY_PHOTOS', `at most ${MAX_PENDING_PHOTOS} photos may wait to be attached to a step`);
      if (counts.total >= MAX_PHOTOS_PER_INCIDENT) throw new ApiError(409, 'TOO_MANY_PHOTOS', `at most ${MAX_PHOTOS_PER_INCIDENT} photos per incident`);
      // The uploader's budget, counted from the rows of the last hour (holds across processes).
      await lockUploaderBudget(trx, c.id);
      const wait = await uploaderBudgetWait(trx, c.id, photoBudgetPerHour);
      if (wait !== null) {
        throw new ApiError(429, 'RATE_LIMITED', `at most ${photoBudgetPerHour} photos per hour; retry in ${wait} s`, { retryAfterSeconds: wait });
      }
      const photoId = await insertPhoto(trx, {
        incidentId: inc.id, districtId: inc.district_id, contentType: sniffed, byteSize: data.length, sha256, data: photoDir ? null : data, uploadedBy: c.id,
      });
      if (photoDir) file.pending = await writePendingPhotoFile(photoDir, sha256, data);
      const event = incidentUpdated(
        {
          id: inc.id, status: inc.status, priority: inc.priority, category: inc.category, gridCode: inc.grid_code, districtId: inc.district_id, lon: inc.lon, lat: inc.lat,
          assignee: { responderId: inc.assignee_id, departmentCode: inc.assignee_department },
        },
        'photo',
        { photoCount: { from: counts.total, to: counts.total + 1 } },
      );
      return { status: 201, body: { id: photoId, url: photoUrl(inc.id, photoId), contentType: sniffed, byteSize: data.length }, events: [event] };
    });
  } catch (err) {
    await file.pending?.discard();
    throw err;
  }
  await file.pending?.commit();
  return answer;
}

/**
 * Removes the photo folder's orphans (photos.store.ts removeOrphanPhotoFiles): files whose hash no
 * photo row names, and temporary files of uploads that never committed. Run when the photo routes
 * start; returns the number of files removed.
 */
export async function removeOrphanPhotosForSystem(db: Db, photoDir: string): Promise<number> {
  return removeOrphanPhotoFiles(photoDir, (shas) => namedPhotoHashes(db, shas));
}

/** A photo's bytes, when the viewer sees its incident. */
export async function readPhoto(db: Db, photoDir: string | undefined, v: Viewer, incidentId: string, photoId: string) {
  const p = await findPhoto(db, v, incidentId, photoId);
  if (!p) throw new ApiError(404, 'NOT_FOUND', 'no such photo');
  const bytes = p.data ?? (photoDir ? await readPhotoFile(photoDir, p.sha256) : null);
  if (!bytes) throw new ApiError(404, 'NOT_FOUND', 'the photo file is missing');
  return { contentType: p.content_type, sha256: p.sha256, bytes };
}

/** Incidents escalated per transaction; a round runs batches until none is left (bounded). */
const ESCALATION_BATCH = 500;
const MAX_BATCHES = 20;

export interface EscalationRound {
  /** False when another process held the lock and this round did nothing. */
  ran: boolean;
  escalated: { id: string; level: number }[];
}

const escalationEvent = (r: EscalatedRow) =>
  incidentUpdated(
    {
      id: r.id, status: r.status, priority: r.priority, category: r.category, gridCode: r.grid_code, districtId: r.district_id, lon: r.lon, lat: r.lat,
      assignee: { responderId: r.assignee_responder_id, departmentCode: r.assignee_department },
    },
    'escalate',
    { escalationLevel: { from: r.from_level, to: r.level }, version: { from: r.version - 1, to: r.version } },
  );

/**
 * 督办, run by the system's timer (plugins/timers.ts): escalates every open incident whose current
 * step limit has elapsed since its step began or its last escalation, or whose overall deadline has
 * just passed (incidents.escalation.query.ts), in batches, one API process at a
 * time (a transaction-scoped advisory lock; the others skip the round).
 */
export async function escalateOverdueForSystem(deps: WriteDeps): Promise<EscalationRound> {
  const escalated: EscalationRound['escalated'] = [];
  for (let batch = 0; batch < MAX_BATCHES; batch++) {
    const { body: round } = await runWrite(deps, async (trx) => {
      if (!(await tryEscalationLock(trx))) return { status: 200, body: undefined, events: [] };
      const rows = await escalateBatchForSystem(trx, ESCALATION_BATCH);
      return { status: 200, body: rows.map((r) => ({ id: r.id, level: r.level })), events: rows.map(escalationEvent) };
    });
    if (round === undefined) return { ran: batch > 0, escalated };
    escalated.push(...round);
    if (round.length < ESCALATION_BATCH) break;
  }
  return { ran: true, escalated };
}
