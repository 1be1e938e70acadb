/**
 * Typed client of the command-centre incident API (docs/command-centre-api.md): intake with
 * idempotency, the filtered list, stats, one incident with its timeline and photos, photo upload,
 * lifecycle transitions, candidates and dispatch. The lifecycle's vocabularies and rules, the
 * photo limits and the categories come from `GET /api/meta` (meta.ts).
 */
import { api, call, type ApiBody, type ApiQuery, type ApiResponse } from './http';
import type { IncidentAction, IncidentPriority, IncidentStatus } from './meta';

export type { IncidentAction, IncidentPriority, IncidentStatus } from './meta';

/** A lon/lat pair (EPSG:4326). */
export type LonLat = [number, number];

type RawFeature = ApiResponse<'/api/incidents/{id}'>;
type RawProperties = RawFeature['properties'];

/**
 * An incident's properties as the API answers them, with status, priority and actions narrowed to
 * the lifecycle's vocabularies (the incident schemas declare them as plain strings).
 */
export type IncidentProperties = Omit<RawProperties, 'status' | 'priority' | 'allowedActions'> & {
  status: IncidentStatus;
  priority: IncidentPriority;
  allowedActions: IncidentAction[];
};

/** An incident Feature (list, detail, intake and transition answers). */
export type IncidentFeature = Omit<RawFeature, 'geometry' | 'properties'> & {
  geometry: { type: 'Point'; coordinates: LonLat };
  properties: IncidentProperties;
};

export type IncidentCollection = Omit<ApiResponse<'/api/incidents'>, 'features'> & { features: IncidentFeature[] };
export type IncidentStats = ApiResponse<'/api/incidents/stats'>;
export type TimelineEntry = NonNullable<RawProperties['timeline']>[number];
export type UploadedPhoto = ApiResponse<'/api/incidents/{id}/photos', 'post'>;

export type CandidatesAnswer = ApiResponse<'/api/incidents/{id}/candidates'>;
export type Candidate = CandidatesAnswer['candidates'][number];

export type NewIncident = ApiBody<'/api/incidents'>;
export type TransitionRequest = ApiBody<'/api/incidents/{id}/transitions'>;
/** Whom to dispatch to; over a current assignee (改派) with `reassign` and the reason as `note`. */
export type DispatchTarget = ({ responderId: string } | { departmentCode: string }) & { note?: string; reassign?: boolean };

/** 延期: the minutes typed for an extension asked for or granted (1 … 43,200, the API's range), or null when not such a number. */
export function extensionMinutes(text: string): number | null {
  const n = Number(text);
  return Number.isInteger(n) && n >= 1 && n <= 43_200 ? n : null;
}

export type IncidentSort = NonNullable<ApiQuery<'/api/incidents'>['sort']>;
export const INCIDENT_SORTS: readonly IncidentSort[] = ['-reportedAt', 'reportedAt', '-priority', 'dueAt', 'stepDueAt'];

export interface IncidentListQuery {
  status?: IncidentStatus[];
  category?: string;
  priority?: IncidentPriority[];
  /** Prefix of the grid code. */
  gridCode?: string;
  overdue?: boolean;
  escalated?: boolean;
  /** 评价: closed incidents whose closure is rated (true) or waits for its rating (false). */
  rated?: boolean;
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

const idempotency = (key: string | undefined) => (key ? { 'idempotency-key': key } : undefined);

/** The query string of the list, with comma lists and only the filters that are set. */
export function listQuery(q: IncidentListQuery): ApiQuery<'/api/incidents'> {
  const text = q.q?.trim();
  return {
    status: q.status?.length ? q.status.join(',') : undefined,
    category: q.category || undefined,
    priority: q.priority?.length ? q.priority.join(',') : undefined,
    gridCode: q.gridCode || undefined,
    overdue: q.overdue ? true : undefined,
    escalated: q.escalated ? true : undefined,
    rated: q.rated,
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

/** Reports an incident; the same `idempotencyKey` on a retry returns the first answer, never a second incident. */
export async function createIncident(body: NewIncident, opts: { idempotencyKey?: string; signal?: AbortSignal } = {}): Promise<IncidentFeature> {
  const answer = await call(api.POST('/api/incidents', { params: { header: idempotency(opts.idempotencyKey) }, body, signal: opts.signal }));
  return answer as IncidentFeature;
}

export async function listIncidents(query: IncidentListQuery = {}, signal?: AbortSignal): Promise<IncidentCollection> {
  return (await call(api.GET('/api/incidents', { params: { query: listQuery(query) }, signal }))) as IncidentCollection;
}

export function fetchIncidentStats(signal?: AbortSignal): Promise<IncidentStats> {
  return call(api.GET('/api/incidents/stats', { signal }));
}

/** One incident with its timeline and photos. */
export async function fetchIncident(id: string, signal?: AbortSignal): Promise<IncidentFeature> {
  return (await call(api.GET('/api/incidents/{id}', { params: { path: { id } }, signal }))) as IncidentFeature;
}

/** The same-origin URL of a photo (for <img src>). */
export function photoUrl(incidentId: string, photoId: string): string {
  return `/api/incidents/${encodeURIComponent(incidentId)}/photos/${encodeURIComponent(photoId)}`;
}

/** Uploads one photo (raw body); attach its id to the next transition with `photoIds`. */
export function uploadPhoto(incidentId: string, file: Blob, signal?: AbortSignal): Promise<UploadedPhoto> {
  return call(api.POST('/api/incidents/{id}/photos', {
    params: { path: { id: incidentId } },
    // The raw image is the body (the route takes image/jpeg, image/png or image/webp, not JSON).
    body: file as never,
    bodySerializer: (blob: unknown) => blob,
    headers: { 'Content-Type': file.type || 'application/octet-stream' },
    signal,
  }));
}

export async function transitionIncident(
  id: string,
  body: TransitionRequest,
  opts: { idempotencyKey?: string; signal?: AbortSignal } = {},
): Promise<IncidentFeature> {
  const answer = await call(api.POST('/api/incidents/{id}/transitions', {
    params: { path: { id }, header: idempotency(opts.idempotencyKey) }, body, signal: opts.signal,
  }));
  return answer as IncidentFeature;
}

/** Assigns a responder (marked busy) or a department; 409 RESPONDER_UNAVAILABLE when the responder was taken. */
export async function dispatchIncident(id: string, target: DispatchTarget, signal?: AbortSignal): Promise<IncidentFeature> {
  return (await call(api.POST('/api/incidents/{id}/dispatch', { params: { path: { id } }, body: target, signal }))) as IncidentFeature;
}

/**
 * The best responders for an incident, ranked; `reason` follows `language` ('zh-CN' or 'en').
 */
export function fetchCandidates(
  id: string,
  opts: { k?: number; routes?: boolean; language?: string; signal?: AbortSignal } = {},
): Promise<CandidatesAnswer> {
  return call(api.GET('/api/incidents/{id}/candidates', {
    params: { path: { id }, query: { k: opts.k ?? 5, routes: opts.routes ?? true } },
    headers: opts.language ? { 'Accept-Language': opts.language } : undefined,
    signal: opts.signal,
  }));
}

/** A random idempotency key for one submission (kept across its retries). */
export function newIdempotencyKey(): string {
  return typeof crypto !== 'undefined' && 'randomUUID' in crypto
    ? crypto.randomUUID()
    : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}
