/**
 * Typed client of the responder API (docs/command-centre-api.md, "Responders"): the signed-in
 * worker's own responder (status, positions) and the scoped responder list.
 */
import { ApiProblem, absoluteUrl, getJson, postJson, reportAuthFailure, retryAfterSeconds, type Problem } from './http';
import type { PositionPoint, PositionBatchResult } from '@/modules/field/positionBuffer';

export const RESPONDER_STATUS_CODES = ['available', 'busy', 'off_duty'] as const;
export type ResponderStatusCode = (typeof RESPONDER_STATUS_CODES)[number];
export type Presence = 'online' | 'stale' | 'offline';

/** `GET /api/responders/me`: the responder linked to the signed-in account. */
export interface MyResponder {
  id: string;
  name: string;
  kind: string;
  status: ResponderStatusCode;
  statusAt: string;
  presence: Presence;
  position: { lon: number; lat: number; recordedAt: string; accuracyMetres: number | null } | null;
  homeGridCode: string | null;
  activeIncidentCount: number;
}

export type PositionRejectionCode = 'FUTURE_TIMESTAMP' | 'IMPOSSIBLE_SPEED' | 'OUT_OF_RANGE' | 'TOO_OLD';

/** The answer to a batch of positions. */
export interface PositionsAnswer extends PositionBatchResult {
  rejected: { index: number; code: PositionRejectionCode | string; detail?: string }[];
  position: MyResponder['position'];
}

export interface ResponderListProperties {
  id: string;
  name: string;
  kind: string;
  status: ResponderStatusCode;
  presence: Presence;
  positionAt: string | null;
  homeGridCode: string | null;
  activeIncidentId: string | null;
}

export interface ResponderCollection {
  type: 'FeatureCollection';
  features: { type: 'Feature'; id: string; geometry: { type: 'Point'; coordinates: [number, number] } | null; properties: ResponderListProperties }[];
  numberMatched?: number;
  numberReturned?: number;
}

function isProblem(body: unknown): body is Problem {
  return typeof body === 'object' && body !== null && 'status' in body && 'code' in body;
}

/** PUT with a JSON body (the shared client has GET/POST/PATCH); errors as {@link ApiProblem}. */
async function putJson<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(absoluteUrl(path), {
      method: 'PUT',
      headers: { Accept: 'application/json, application/problem+json', 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      signal,
      credentials: 'same-origin',
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiProblem({ type: 'about:blank', title: 'Network error', status: 0, code: 'NETWORK_ERROR', detail: String(err) });
  }
  const parsed: unknown = await response.json().catch(() => undefined);
  if (!response.ok) {
    const problem = isProblem(parsed)
      ? new ApiProblem(parsed)
      : new ApiProblem({ type: 'about:blank', title: response.statusText || 'HTTP error', status: response.status, code: 'HTTP_ERROR' });
    const wait = retryAfterSeconds(response.headers.get('Retry-After'));
    if (wait !== undefined && typeof problem.problem.retryAfterSeconds !== 'number') problem.problem.retryAfterSeconds = wait;
    reportAuthFailure(problem, path);
    throw problem;
  }
  if (parsed === undefined) throw new ApiProblem({ type: 'about:blank', title: 'Invalid response', status: response.status, code: 'INVALID_RESPONSE' });
  return parsed as T;
}

/** The signed-in worker's responder; 403 NO_RESPONDER when the account has none. */
export function fetchMyResponder(signal?: AbortSignal): Promise<MyResponder> {
  return getJson('/api/responders/me', { signal });
}

export function setMyStatus(status: ResponderStatusCode, signal?: AbortSignal): Promise<MyResponder> {
  return putJson('/api/responders/me/status', { status }, signal);
}

/** Sends a batch (1–500 points); rejected points are listed by index, the rest are stored. */
export function sendMyPositions(positions: PositionPoint[], signal?: AbortSignal): Promise<PositionsAnswer> {
  return postJson('/api/responders/me/positions', { positions }, { signal });
}

export function listResponders(
  query: { status?: ResponderStatusCode[]; presence?: Presence[]; limit?: number } = {},
  signal?: AbortSignal,
): Promise<ResponderCollection> {
  return getJson('/api/responders', {
    query: {
      status: query.status?.length ? query.status.join(',') : undefined,
      presence: query.presence?.length ? query.presence.join(',') : undefined,
      limit: query.limit,
    },
    signal,
  });
}
