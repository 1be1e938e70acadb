import { api, call, type ApiQuery, type ApiResponse } from './http';
import type { IncidentCollection } from './incidents';

/** The department ranking (`GET /api/kpis/departments`). */
export type KpiTable = ApiResponse<'/api/kpis/departments'>;
export type KpiRow = KpiTable['rows'][number];
export type KpiWeights = KpiTable['weights'];
export type KpiQuery = Pick<ApiQuery<'/api/kpis/departments'>, 'from' | 'to' | 'area'>;
export type KpiFigure = ApiQuery<'/api/kpis/departments/{code}/incidents'>['figure'];

export function fetchDepartmentTable(q: KpiQuery, signal?: AbortSignal): Promise<KpiTable> {
  return call(api.GET('/api/kpis/departments', { params: { query: q }, signal }));
}

/** The address of the table exported as CSV or XLSX (a download link). */
export function exportUrl(q: KpiQuery, format: 'csv' | 'xlsx'): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) if (v) params.set(k, String(v));
  params.set('format', format);
  return `/api/kpis/departments?${params.toString()}`;
}

/** The incidents behind one figure of a department. */
export async function fetchFigureIncidents(code: string, figure: KpiFigure, q: KpiQuery, signal?: AbortSignal): Promise<IncidentCollection> {
  return (await call(api.GET('/api/kpis/departments/{code}/incidents', { params: { path: { code }, query: { ...q, figure, limit: 200 } }, signal }))) as IncidentCollection;
}

export function fetchWeights(): Promise<ApiResponse<'/api/kpis/department-weights'>> {
  return call(api.GET('/api/kpis/department-weights'));
}

export function saveWeights(weights: KpiWeights): Promise<ApiResponse<'/api/kpis/department-weights'>> {
  return call(api.PUT('/api/kpis/department-weights', { body: { weights } }));
}
