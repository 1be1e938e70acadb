import { getJson } from './http';

/** The figures of one grid (`GET /api/grids/{id}/summary`). */
export interface GridSummary {
  id: string;
  code: string;
  name: string;
  communityCode: string;
  communityName: string;
  streetCode: string;
  streetName: string;
  areaSquareMetres: number;
  buildingCount: number;
  householdCount: number;
  openIncidentCount: number;
  incidentCountByStatus: Record<string, number>;
  responderCount: number;
  respondersByStatus: Record<string, number>;
}

export function fetchGridSummary(id: string, signal?: AbortSignal): Promise<GridSummary> {
  return getJson<GridSummary>(`/api/grids/${encodeURIComponent(id)}/summary`, { signal });
}
