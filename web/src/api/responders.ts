/**
 * Typed client of the responder API (docs/command-centre-api.md, "Responders"): the signed-in
 * worker's own responder (status, positions) and the scoped responder list.
 */
import { api, call, type ApiBody, type ApiResponse } from './http';

export type ResponderStatusCode = ApiBody<'/api/responders/me/status', 'put'>['status'];
export const RESPONDER_STATUS_CODES: readonly ResponderStatusCode[] = ['available', 'busy', 'off_duty'];
export type Presence = 'online' | 'stale' | 'offline';

/** `GET /api/responders/me`: the responder linked to the signed-in account. */
export type MyResponder = ApiResponse<'/api/responders/me'>;

/** A point of a batch (1–500) for `POST /api/responders/me/positions`. */
export type PositionSent = ApiBody<'/api/responders/me/positions'>['positions'][number];
/** The answer to a batch: counts, the rejected points by index, the current position. */
export type PositionsAnswer = ApiResponse<'/api/responders/me/positions', 'post'>;

export type ResponderCollection = ApiResponse<'/api/responders'>;
export type ResponderListProperties = ResponderCollection['features'][number]['properties'];

/** The signed-in worker's responder; 403 NO_RESPONDER when the account has none. */
export function fetchMyResponder(signal?: AbortSignal): Promise<MyResponder> {
  return call(api.GET('/api/responders/me', { signal }));
}

export function setMyStatus(status: ResponderStatusCode, signal?: AbortSignal): Promise<MyResponder> {
  return call(api.PUT('/api/responders/me/status', { body: { status }, signal }));
}

/** Sends a batch (1–500 points); rejected points are listed by index, the rest are stored. */
export function sendMyPositions(positions: PositionSent[], signal?: AbortSignal): Promise<PositionsAnswer> {
  return call(api.POST('/api/responders/me/positions', { body: { positions }, signal }));
}

export function listResponders(
  query: { status?: ResponderStatusCode[]; presence?: Presence[]; limit?: number } = {},
  signal?: AbortSignal,
): Promise<ResponderCollection> {
  return call(api.GET('/api/responders', {
    params: {
      query: {
        status: query.status?.length ? query.status.join(',') : undefined,
        presence: query.presence?.length ? query.presence.join(',') : undefined,
        limit: query.limit,
      },
    },
    signal,
  }));
}
