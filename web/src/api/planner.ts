/**
 * The grid planner's API (issue 13, docs/planner-api.md): communities to plan, drafts kept on the
 * server, validation and impact of a proposal, dated versions and their diffs.
 */
import { api, call, type ApiBody, type ApiResponse } from './http';
import { newIdempotencyKey } from './incidents';
import type { FeatureCollection, MultiPolygon, Polygon } from 'geojson';

/** A community's grids as GeoJSON (the planner's edit engine produces and reads exactly this). */
export type GridCollection = FeatureCollection<Polygon | MultiPolygon, { code: string; name: string }>;

export type PlanCommunityList = ApiResponse<'/api/planner/communities'>;
export type PlanCommunitySummary = PlanCommunityList['communities'][number];
export type PlanCommunity = Awaited<ReturnType<typeof fetchCommunity>>;
export type PlanCommunityGrid = PlanCommunity['grids']['features'][number];
export type Draft = Awaited<ReturnType<typeof fetchDraft>>;
export type DraftSummary = ApiResponse<'/api/planner/drafts'>['drafts'][number];
export type PlanIssue = ApiResponse<'/api/planner/validate', 'post'>['issues'][number];
export type PlanImpact = ApiResponse<'/api/planner/impact', 'post'>;
export type VersionList = ApiResponse<'/api/planner/communities/{code}/versions'>;
export type VersionSummary = VersionList['versions'][number];
export type VersionDiff = ApiResponse<'/api/planner/communities/{code}/versions/{version}/diff/{other}'>;
export type PublishBody = ApiBody<'/api/planner/communities/{code}/versions'>;
export type DraftHistory = ApiBody<'/api/planner/drafts/{id}', 'put'>['history'];

/** The engine's grids as the API takes them (the engine's types are the stricter GeoJSON ones). */
type ApiGrids = ApiBody<'/api/planner/validate'>['grids'];
const asApi = (grids: GridCollection) => grids as unknown as ApiGrids;
export const asEngine = (grids: unknown) => grids as GridCollection;

export function fetchPlanSettings() {
  return call(api.GET('/api/planner/settings'));
}
export type PlanSettings = Awaited<ReturnType<typeof fetchPlanSettings>>;

export function fetchCommunities(signal?: AbortSignal): Promise<PlanCommunityList> {
  return call(api.GET('/api/planner/communities', { params: { query: { limit: 1000 } }, signal }));
}

export function fetchCommunity(code: string, signal?: AbortSignal) {
  return call(api.GET('/api/planner/communities/{code}', { params: { path: { code } }, signal }));
}

export function fetchDrafts(communityCode: string): Promise<DraftSummary[]> {
  return call(api.GET('/api/planner/drafts', { params: { query: { communityCode, limit: 50 } } })).then((r) => r.drafts);
}

export function fetchDraft(id: string) {
  return call(api.GET('/api/planner/drafts/{id}', { params: { path: { id } } }));
}

export function createDraft(communityCode: string): Promise<Draft> {
  return call(api.POST('/api/planner/drafts', { body: { communityCode } })) as Promise<unknown> as Promise<Draft>;
}

export function saveDraft(id: string, expectedRevision: number, grids: GridCollection, history: DraftHistory, baseVersion?: number) {
  return call(api.PUT('/api/planner/drafts/{id}', {
    params: { path: { id } },
    body: { expectedRevision, grids: asApi(grids), history, ...(baseVersion === undefined ? {} : { baseVersion }) },
  }));
}

export function deleteDraft(id: string): Promise<unknown> {
  return call(api.DELETE('/api/planner/drafts/{id}', { params: { path: { id } } }));
}

export function validatePlan(communityCode: string, grids: GridCollection, signal?: AbortSignal): Promise<PlanIssue[]> {
  return call(api.POST('/api/planner/validate', { body: { communityCode, grids: asApi(grids) }, signal })).then((r) => r.issues);
}

export function planImpact(communityCode: string, grids: GridCollection, successors: Record<string, string>, signal?: AbortSignal): Promise<PlanImpact> {
  return call(api.POST('/api/planner/impact', { body: { communityCode, grids: asApi(grids), successors }, signal }));
}

/** The rebalancing assistant's proposals for the plan as it is (splits along streets, merges of small neighbours). */
export function rebalancePlan(communityCode: string, grids: GridCollection, signal?: AbortSignal) {
  return call(api.POST('/api/planner/rebalance', { body: { communityCode, grids: asApi(grids) }, signal })).then((r) => r.proposals);
}
export type RebalanceProposal = Awaited<ReturnType<typeof rebalancePlan>>[number];

/**
 * Loads a GeoJSON file or a zipped Shapefile into the draft (multipart; the server converts it to WGS 84 and
 * appends one setGrids edit to the draft's history, so the import is undoable like any edit).
 */
export function importDraftFile(id: string, file: File, opts: { crs?: string; expectedRevision?: number } = {}) {
  const form = new FormData();
  form.set('file', file);
  if (opts.crs) form.set('crs', opts.crs);
  if (opts.expectedRevision !== undefined) form.set('expectedRevision', String(opts.expectedRevision));
  return call(api.POST('/api/planner/drafts/{id}/import', {
    params: { path: { id } },
    body: form as never,
    // the browser writes the multipart boundary itself
    bodySerializer: (body: unknown) => body as FormData,
  }));
}

export function fetchVersions(code: string): Promise<VersionList> {
  return call(api.GET('/api/planner/communities/{code}/versions', { params: { path: { code } } }));
}

export async function fetchVersionGrids(code: string, version: number): Promise<GridCollection> {
  return asEngine(await call(api.GET('/api/planner/communities/{code}/versions/{version}', { params: { path: { code, version } } })));
}

export function fetchDiff(code: string, version: number, other: number): Promise<VersionDiff> {
  return call(api.GET('/api/planner/communities/{code}/versions/{version}/diff/{other}', { params: { path: { code, version, other } } }));
}

export function publishVersion(
  code: string, body: Omit<PublishBody, 'grids'> & { grids: GridCollection }, idempotencyKey = newIdempotencyKey(),
): Promise<ApiResponse<'/api/planner/communities/{code}/versions', 'post'>> {
  return call(api.POST('/api/planner/communities/{code}/versions', {
    params: { path: { code }, header: { 'idempotency-key': idempotencyKey } },
    body: { ...body, grids: asApi(body.grids) },
  }));
}
