/**
 * Typed client of the command-centre incident API (docs/command-centre-api.md): categories,
 * departments, intake with idempotency, the filtered list, stats, one incident with its timeline
 * and photos, photo upload, lifecycle transitions, candidates and dispatch.
 */
import { getJson, sendRequest, type Query } from './http';

export const INCIDENT_PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type IncidentPriority = (typeof INCIDENT_PRIORITIES)[number];

/** The lifecycle statuses (server/src/modules/incidents/lifecycle.ts). Open = every status but closed. */
export const LIFECYCLE_STATUSES = [
  'reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified', 'closed', 'rejected', 'reopened',
] as const;
export type IncidentStatusCode = (typeof LIFECYCLE_STATUSES)[number];

export const INCIDENT_ACTIONS = ['accept', 'dispatch', 'start', 'resolve', 'reject', 'verify', 'close', 'reopen'] as const;
export type IncidentAction = (typeof INCIDENT_ACTIONS)[number];

/** Actions that may carry photos as proof. */
export const PHOTO_ACTIONS: readonly IncidentAction[] = ['resolve', 'verify'];

/**
 * Whether the lifecycle requires a note for `action` taken from `status` (mirrors the server's
 * table: reject and reopen always; close unless the incident was verified).
 */
export function noteRequired(action: IncidentAction, status: string): boolean {
  if (action === 'reject' || action === 'reopen') return true;
  if (action === 'close') return status !== 'verified';
  return false;
}

export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export const PHOTO_MAX_BYTES = 5 * 1024 * 1024;
export const PHOTOS_PER_STEP = 6;

export interface IncidentCategory {
  code: string;
  nameZh: string;
  nameEn: string;
  departmentCode: string | null;
  /** Minutes allowed per status. */
  timeLimits: Partial<Record<IncidentStatusCode, number>>;
}

export interface Department {
  code: string;
  nameZh: string;
  nameEn: string;
}

export interface PointGeometry {
  type: 'Point';
  coordinates: [number, number];
}

export interface LineStringGeometry {
  type: 'LineString';
  coordinates: [number, number][];
}

export interface Person {
  id: string;
  name: string;
}

export interface PossibleDuplicate {
  id: string;
  status: IncidentStatusCode;
  description: string;
  reportedAt: string;
  distanceMetres: number;
}

export interface TimelineEntry {
  id: string;
  action: IncidentAction | string;
  fromStatus: IncidentStatusCode | null;
  toStatus: IncidentStatusCode;
  actor: Person | null;
  note: string | null;
  responder: Person | null;
  departmentCode: string | null;
  escalationLevel: number;
  at: string;
  photoIds: string[];
}

export interface IncidentPhoto {
  id: string;
  url: string;
  contentType: string;
  byteSize: number;
  transitionId: string | null;
  createdAt: string;
}

export interface IncidentDetailProperties {
  id: string;
  category: string;
  priority: IncidentPriority;
  status: IncidentStatusCode;
  statusSince: string;
  description: string;
  address: string | null;
  gridId: string | null;
  gridCode: string | null;
  gridName: string | null;
  communityName: string | null;
  nearBorder: boolean;
  nearGrids: { id: string; code: string; name: string }[];
  reportedAt: string;
  reportedBy: Person | null;
  assignee: { responderId: string; name: string } | null;
  assigneeDepartment: string | null;
  assignedAt: string | null;
  escalationLevel: number;
  overdue: boolean;
  dueAt: string | null;
  closedAt: string | null;
  version: number;
  photoCount: number;
  allowedActions: IncidentAction[];
  /** Only on `GET /api/incidents/{id}` for users with incident.sensitive. */
  reporterContact?: string | null;
  /** Only in the answer of `POST /api/incidents`. */
  possibleDuplicates?: PossibleDuplicate[];
  /** Only on `GET /api/incidents/{id}` and transition answers. */
  timeline?: TimelineEntry[];
  /** Only on `GET /api/incidents/{id}`. */
  photos?: IncidentPhoto[];
}

export interface IncidentFeature {
  type: 'Feature';
  id: string;
  geometry: PointGeometry;
  properties: IncidentDetailProperties;
}

export interface IncidentCollection {
  type: 'FeatureCollection';
  features: IncidentFeature[];
  numberMatched: number;
  numberReturned: number;
}

export interface IncidentStats {
  open: number;
  overdue: number;
  urgentOpen: number;
  escalated: number;
  byStatus: Partial<Record<IncidentStatusCode, number>>;
}

export const INCIDENT_SORTS = ['-reportedAt', 'reportedAt', '-priority', 'dueAt'] as const;
export type IncidentSort = (typeof INCIDENT_SORTS)[number];

export interface IncidentListQuery {
  status?: IncidentStatusCode[];
  category?: string;
  priority?: IncidentPriority[];
  /** Prefix of the grid code. */
  gridCode?: string;
  overdue?: boolean;
  escalated?: boolean;
  /** ISO instants bounding reportedAt. */
  from?: string;
  to?: string;
  q?: string;
  assignedToMe?: boolean;
  department?: string;
  sort?: IncidentSort;
  limit?: number;
  offset?: number;
}

export interface NewIncident {
  category: string;
  priority?: IncidentPriority;
  description: string;
  location: PointGeometry;
  address?: string;
  reporterContact?: string;
}

export interface TransitionRequest {
  action: IncidentAction;
  note?: string;
  photoIds?: string[];
  responderId?: string;
  departmentCode?: string;
  expectedVersion?: number;
}

export type DispatchTarget = ({ responderId: string } | { departmentCode: string }) & { note?: string };

export type CandidateTier = 'own_grid' | 'neighbour_grid' | 'other';

export interface Candidate {
  responderId: string;
  name: string;
  kind: string;
  status: string;
  presence: 'online' | 'stale' | 'offline';
  positionAgeSeconds: number | null;
  homeGridId: string | null;
  homeGridCode: string | null;
  tier: CandidateTier;
  etaSeconds: number;
  distanceMetres: number;
  routed: boolean;
  reasonCode: string;
  reason: string;
  route: LineStringGeometry | null;
}

export interface CandidatesAnswer {
  incidentId: string;
  networkVersion: number;
  generatedAt: string;
  candidates: Candidate[];
}

export interface UploadedPhoto {
  id: string;
  url: string;
  contentType: string;
  byteSize: number;
}

const send = sendRequest;

const incidentPath = (id: string) => `/api/incidents/${encodeURIComponent(id)}`;

/** The query string of the list, with comma lists and only the filters that are set. */
export function listQuery(q: IncidentListQuery): Query {
  const text = q.q?.trim();
  return {
    status: q.status?.length ? q.status.join(',') : undefined,
    category: q.category || undefined,
    priority: q.priority?.length ? q.priority.join(',') : undefined,
    gridCode: q.gridCode || undefined,
    overdue: q.overdue ? true : undefined,
    escalated: q.escalated ? true : undefined,
    from: q.from || undefined,
    to: q.to || undefined,
    q: text ? text : undefined,
    assignedToMe: q.assignedToMe ? true : undefined,
    department: q.department || undefined,
    sort: q.sort,
    limit: q.limit,
    offset: q.offset,
  };
}

export async function fetchCategories(signal?: AbortSignal): Promise<IncidentCategory[]> {
  return (await getJson<{ categories: IncidentCategory[] }>('/api/incident-categories', { signal })).categories;
}

export async function fetchDepartments(signal?: AbortSignal): Promise<Department[]> {
  return (await getJson<{ departments: Department[] }>('/api/departments', { signal })).departments;
}

/** Reports an incident; the same `idempotencyKey` on a retry returns the first answer, never a second incident. */
export function createIncident(body: NewIncident, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<IncidentFeature> {
  return send('POST', '/api/incidents', {
    json: body,
    headers: opts.idempotencyKey ? { 'Idempotency-Key': opts.idempotencyKey } : undefined,
    signal: opts.signal,
  });
}

export function listIncidents(query: IncidentListQuery = {}, signal?: AbortSignal): Promise<IncidentCollection> {
  return getJson('/api/incidents', { query: listQuery(query), signal });
}

export function fetchIncidentStats(signal?: AbortSignal): Promise<IncidentStats> {
  return getJson('/api/incidents/stats', { signal });
}

/** One incident with its timeline and photos. */
export function fetchIncident(id: string, signal?: AbortSignal): Promise<IncidentFeature> {
  return getJson(incidentPath(id), { signal });
}

/** The same-origin URL of a photo (for <img src>). */
export function photoUrl(incidentId: string, photoId: string): string {
  return `${incidentPath(incidentId)}/photos/${encodeURIComponent(photoId)}`;
}

/** Uploads one photo (raw body); attach its id to the next transition with `photoIds`. */
export function uploadPhoto(incidentId: string, file: Blob, signal?: AbortSignal): Promise<UploadedPhoto> {
  return send('POST', `${incidentPath(incidentId)}/photos`, { raw: file, contentType: file.type || undefined, signal });
}

export function transitionIncident(
  id: string,
  body: TransitionRequest,
  opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<IncidentFeature> {
  return send('POST', `${incidentPath(id)}/transitions`, {
    json: body,
    headers: opts.idempotencyKey ? { 'Idempotency-Key': opts.idempotencyKey } : undefined,
    signal: opts.signal,
  });
}

/** Assigns a responder (marked busy) or a department; 409 RESPONDER_UNAVAILABLE when the responder was taken. */
export function dispatchIncident(id: string, target: DispatchTarget, signal?: AbortSignal): Promise<IncidentFeature> {
  return send('POST', `${incidentPath(id)}/dispatch`, { json: target, signal });
}

/**
 * The best responders for an incident, ranked; `reason` follows `language` ('zh-CN' or 'en').
 */
export function fetchCandidates(
  id: string,
  opts: { k?: number; routes?: boolean; language?: string; signal?: AbortSignal } = {},
): Promise<CandidatesAnswer> {
  return send('GET', `${incidentPath(id)}/candidates`, {
    query: { k: opts.k ?? 5, routes: opts.routes ?? true },
    headers: opts.language ? { 'Accept-Language': opts.language } : undefined,
    signal: opts.signal,
  });
}

/** A random idempotency key for one submission (kept across its retries). */
export function newIdempotencyKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
