import { api, call, type ApiResponse } from './http';

/** The figures of one grid (`GET /api/grids/{id}/summary`). */
export type GridSummary = ApiResponse<'/api/grids/{id}/summary'>;

export function fetchGridSummary(id: string, signal?: AbortSignal): Promise<GridSummary> {
  return call(api.GET('/api/grids/{id}/summary', { params: { path: { id } }, signal }));
}
