/**
 * What the web app follows instead of keeping copies (`GET /api/meta`): the incident lifecycle
 * table, priorities, photo limits, categories and departments.
 */
import { api, call, type ApiResponse } from './http';

export type Meta = ApiResponse<'/api/meta'>;
export type Lifecycle = Meta['lifecycle'];
export type ActionRule = Lifecycle['actions'][number];
export type IncidentStatus = Lifecycle['statuses'][number];
export type IncidentAction = ActionRule['action'];
export type IncidentPriority = Meta['priorities'][number];
export type IncidentCategory = Meta['categories'][number];
export type Department = Meta['departments'][number];
export type PhotoLimits = Meta['photos'];

export function fetchMeta(signal?: AbortSignal): Promise<Meta> {
  return call(api.GET('/api/meta', { signal }));
}
