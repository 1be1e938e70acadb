import { api, call, type ApiResponse } from './http';

export type Health = ApiResponse<'/api/health'>;

/** Service and database status. */
export function fetchHealth(signal?: AbortSignal): Promise<Health> {
  return call(api.GET('/api/health', { signal }));
}
