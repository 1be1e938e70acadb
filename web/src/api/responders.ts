/**
 * Typed client of the responder API (docs/command-centre-api.md, "Responders"): the signed-in
 * worker's own responder (status, positions) and the scoped responder list.
 */
import { getJson, postJson, sendRequest } from './http';
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

/** The signed-in worker's responder; 403 NO_RESPONDER when the account has none. */
export function fetchMyResponder(signal?: AbortSignal): Promise<MyResponder> {
  return getJson('/api/responders/me', { signal });
}

export function setMyStatus(status: ResponderStatusCode, signal?: AbortSignal): Promise<MyResponder> {
  return sendRequest('PUT', '/api/responders/me/status', { json: { status }, signal });
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
