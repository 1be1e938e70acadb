/**
 * The grid planner (issue 13): a proposal checked (its shape here, its geometry in SQL:
 * planner.query.ts), its impact, and the community's versions — published against the latest one
 * (409 VERSION_CONFLICT otherwise), refused with the errors that validation finds (422
 * PROPOSAL_INVALID) or the bound codes without a successor (422 SUCCESSOR_REQUIRED), applied at
 * once or, for a later date, by the system's timer exactly once (applyDueGridPlansForSystem).
 *
 * Scope: a community is the caller's when the caller's area holds it (404 otherwise, as for any
 * id out of scope); writing needs an area that holds whole communities (not a single grid).
 */
import { ApiError } from '../../plugins/errors.js';
import { inScope } from '../../auth/scope.js';
import { can } from '../../auth/permissions.js';
import type { Db } from '../../db/transaction.js';
import { inTransaction } from '../../db/transaction.js';
import { runWrite, type Answer, type WriteDeps } from '../../write/write.js';
import type { WriteRequest } from '../../write/http.js';
import { appendAudit, type AuditContext } from '../audit/audit.repository.js';
import type { Caller } from '../incidents/incidents.feature.js';
import { iso } from '../incidents/incidents.feature.js';
import { diffVersions, proposalImpact, validateProposal, type IssueRow } from './planner.query.js';
import {
  applyVersion, boundDroppedCodes, claimDueVersion, findCommunity, gridsInForce, insertVersion, isPending, latestVersion, listVersions,
  lockCommunityPlan, versionGrids, type Community,
  communityOutline, gridsInForceWithCounts, listCommunities, rebalanceProposals, roadGuides,
  deleteDraft, findDraft, insertDraft, listDrafts, readPlanSettings, saveDraft, writePlanSettings, type AppliedVersion, type DraftRow, type SettingsRow,
} from './planner.repository.js';
import { gridsChanged } from './planner.events.js';
import { parseGridFile, type GridFileOptions } from './planner.import.js';
import { MAX_DRAFT_HISTORY, MAX_PLAN_VERTICES, MAX_ROAD_GUIDES, ROAD_GUIDE_METRES, type PlanGridValue } from './planner.schemas.js';
import type { Kysely } from 'kysely';
import type { DB } from '../../db/types.js';

interface Proposal {
  type: 'FeatureCollection';
  features: PlanGridValue[];
}

/** The community, if the caller's area holds it (else 404); for writing, not from a single grid's scope. */
async function communityFor(db: Db, c: Caller, code: string, write = false): Promise<Community> {
  // The caller's area holds the community, or the caller's grid lies in it (reading only).
  const reaches = inScope(c.areaCode, code) || c.areaCode.startsWith(code);
  const community = reaches ? await findCommunity(db, code) : undefined;
  if (!community) throw new ApiError(404, 'NOT_FOUND', `no community "${code}" in your area`);
  if (write && !inScope(c.areaCode, code)) {
    throw new ApiError(403, 'FORBIDDEN', 'a planner scoped to one grid reads the plan but does not change it');
  }
  return community;
}

/** Whether the caller may change the community's plan (what communityFor(…, write = true) lets through). */
const mayWrite = (c: Caller, code: string) => can(c.role, 'grid.plan.write') && inScope(c.areaCode, code);

/** Rings closed and the whole plan within its vertex budget (the schema bounds each part). */
function checkShape(grids: Proposal): void {
  let vertices = 0;
  grids.features.forEach((f, i) => {
    const polygons = f.geometry.type === 'Polygon' ? [f.geometry.coordinates] : f.geometry.coordinates;
    for (const polygon of polygons) {
      for (const ring of polygon) {
        vertices += ring.length;
        const [a, b] = [ring[0], ring[ring.length - 1]];
        if (a[0] !== b[0] || a[1] !== b[1]) {
          throw new ApiError(400, 'INVALID_GEOMETRY', `grids.features[${i}] (${f.properties.code}): a ring is not closed (its last position must repeat its first)`);
        }
      }
    }
  });
  if (vertices > MAX_PLAN_VERTICES) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the plan has ${vertices} vertices; at most ${MAX_PLAN_VERTICES}`);
}

const toIssue = (r: IssueRow) => ({
  kind: r.kind as never,
  severity: r.severity,
  message: r.message,
  gridCodes: r.grid_codes,
  location: r.location as Record<string, unknown>,
  ...(r.area_m2 === null ? {} : { areaSquareMetres: Math.round(r.area_m2 * 100) / 100 }),
  ...(r.fix ? { fix: r.fix as never } : {}),
  ...(r.value === null ? {} : { value: Number(r.value) }),
});

/** POST /api/planner/validate: every issue of the proposal, errors first. Stateless. */
export async function validatePlan(db: Db, c: Caller, communityCode: string, grids: Proposal) {
  await communityFor(db, c, communityCode);
  checkShape(grids);
  return { issues: (await validateProposal(db, communityCode, grids.features)).map(toIssue) };
}

/** POST /api/planner/rebalance: the assistant's splits along streets and merges of small neighbours. */
export async function rebalancePlan(db: Db, c: Caller, communityCode: string, grids: Proposal) {
  await communityFor(db, c, communityCode);
  checkShape(grids);
  const rows = await rebalanceProposals(db, communityCode, grids.features);
  return { proposals: rows.map((r) => ({ kind: r.kind, codes: r.codes, households: r.households.map(Number), street: r.street, line: r.line as Record<string, unknown> | null })) };
}

/** POST /api/planner/impact: per grid before → after, and what changes grid. */
export async function planImpact(db: Db, c: Caller, communityCode: string, grids: Proposal, successors: Record<string, string> = {}) {
  await communityFor(db, c, communityCode);
  checkShape(grids);
  const r = await proposalImpact(db, communityCode, grids.features, successors);
  return { grids: r.grids, changes: { buildings: r.buildings, incidents: r.incidents, responders: r.responders, accounts: r.accounts } };
}

const summary = (v: { version: number; effective_from: Date; published_at: Date; published_by_name: string | null; note: string | null; applied_at: Date | null; grid_count: number }) => ({
  version: v.version,
  effectiveFrom: iso(v.effective_from),
  publishedAt: iso(v.published_at),
  publishedBy: v.published_by_name,
  note: v.note,
  applied: v.applied_at !== null,
  grids: v.grid_count,
});

/** GET …/versions: every version, oldest first (none before the first plan: version 0 is then the grids in force). */
export async function communityVersions(db: Db, c: Caller, code: string) {
  const community = await communityFor(db, c, code);
  const versions = (await listVersions(db, community.id)).map(summary);
  if (!versions.length) {
    const now = await gridsInForce(db, community.id);
    versions.push({ version: 0, effectiveFrom: null, publishedAt: null, publishedBy: null, note: null, applied: true, grids: now.features.length });
  }
  return { communityCode: code, latestVersion: versions[versions.length - 1].version, versions };
}

/** GET …/versions/{n}: the grids of a version (version 0 before the first plan: the grids in force). */
export async function communityVersion(db: Db, c: Caller, code: string, version: number) {
  return gridsOfVersion(db, await communityFor(db, c, code), code, version);
}

async function gridsOfVersion(db: Db, community: Community, code: string, version: number) {
  const grids = await versionGrids(db, community.id, version);
  if (grids) return grids;
  if (version === 0 && !(await latestVersion(db, community.id))) return gridsInForce(db, community.id);
  throw new ApiError(404, 'NOT_FOUND', `community ${code} has no version ${version}`);
}

/**
 * GET /api/planner/communities: the communities within the caller's reach (as communityFor: those
 * its area holds; a grid's community for an account scoped to one grid), by code, with what their
 * grids in force hold, the latest version and whether the caller may change the plan.
 */
export async function communitiesFor(db: Db, c: Caller, q: { limit: number }) {
  const rows = await listCommunities(db, c.areaCode, q.limit);
  return {
    communities: rows.map((r) => ({
      code: r.code, name: r.name, streetCode: r.street_code, streetName: r.street_name, grids: r.grids,
      buildings: r.buildings, households: r.households, openIncidents: r.open_incidents, responders: r.responders,
      latestVersion: r.latest_version, writable: mayWrite(c, r.code),
    })),
  };
}

/**
 * GET /api/planner/communities/{code}: what the planner's screen draws on — the boundary and its
 * bbox, the grids in force with what each holds, and the roads around as snapping guides.
 */
export async function communityDetail(db: Db, c: Caller, code: string) {
  const community = await communityFor(db, c, code);
  const outline = await communityOutline(db, community.id);
  const grids = await gridsInForceWithCounts(db, community.id);
  const roads = await roadGuides(db, community.id, ROAD_GUIDE_METRES, MAX_ROAD_GUIDES);
  const latest = await latestVersion(db, community.id);
  return {
    code: community.code, name: community.name, boundary: outline.boundary, bbox: outline.bbox,
    latestVersion: latest?.version ?? 0, writable: mayWrite(c, code), grids, roads,
  };
}

export interface PublishInput {
  grids: Proposal;
  effectiveFrom?: string;
  baseVersion: number;
  note: string;
  successors?: Record<string, string>;
}

/** GET …/versions/{a}/diff/{b}: the grids of b against a, by code. */
export async function versionsDiff(db: Db, c: Caller, code: string, a: number, b: number) {
  const community = await communityFor(db, c, code);
  const [ga, gb] = [await gridsOfVersion(db, community, code, a), await gridsOfVersion(db, community, code, b)];
  const rows = await diffVersions(db, ga.features, gb.features);
  const m2 = (x: number | null) => (x === null ? null : Math.round(x * 100) / 100);
  return {
    communityCode: code, from: a, to: b,
    grids: rows.map((r) => ({
      code: r.code, change: r.change, nameBefore: r.name_before, nameAfter: r.name_after, areaBefore: m2(r.area_before), areaAfter: m2(r.area_after),
      changedArea: m2(r.changed_area)!, changed: r.changed as Record<string, unknown> | null,
    })),
  };
}

/**
 * POST …/versions: under the community's lock — the base is the latest version, the plan has no
 * error, every dropped code that responders or accounts are bound to has a successor among the
 * plan's codes — record it (and, before the first plan, version 0: the grids until then); apply it
 * now when it takes effect now. 201 `{version, effectiveFrom, applied}`; audited.
 */
export async function publishPlan(
  deps: WriteDeps, c: Caller, code: string, input: PublishInput, request: WriteRequest, audit: AuditContext,
): Promise<Answer<{ version: number; effectiveFrom: string; applied: boolean }>> {
  checkShape(input.grids);
  const effectiveFrom = input.effectiveFrom ? new Date(input.effectiveFrom) : new Date();
  const successors = input.successors ?? {};
  return runWrite(deps, async (trx) => {
    const community = await communityFor(trx, c, code, true);
    await lockCommunityPlan(trx, community.id);
    const latest = await latestVersion(trx, community.id);
    const latestNumber = latest?.version ?? 0;
    if (input.baseVersion !== latestNumber) {
      throw new ApiError(409, 'VERSION_CONFLICT', `the plan was drawn from version ${input.baseVersion}; the latest is ${latestNumber}: reload it and draw again`, {
        latestVersion: latestNumber, latest: latest ? summary(latest) : null,
      });
    }
    if (latest && effectiveFrom < latest.effective_from) {
      throw new ApiError(422, 'INVALID_PARAMETER', `effectiveFrom must not be before version ${latestNumber} takes effect (${latest.effective_from.toISOString()})`, { parameter: 'effectiveFrom' });
    }
    const issues = (await validateProposal(trx, code, input.grids.features)).map(toIssue);
    if (issues.some((i) => i.severity === 'error')) {
      throw new ApiError(422, 'PROPOSAL_INVALID', 'the plan has errors: fix them first', { issues });
    }
    const planCodes = input.grids.features.map((f) => f.properties.code);
    const bound = await boundDroppedCodes(trx, community.id, planCodes);
    const missing = bound.filter((b) => !planCodes.includes(successors[b.code] ?? ''));
    if (missing.length) {
      throw new ApiError(422, 'SUCCESSOR_REQUIRED', `responders or accounts are bound to ${missing.map((m) => m.code).join(', ')}, which the plan drops: name a successor among its codes for each`, { codes: missing });
    }
    if (!latest) {
      await insertVersion(trx, {
        communityId: community.id, version: 0, effectiveFrom: new Date(), userId: null, userName: null, note: 'the grids before the first plan',
        grids: await gridsInForce(trx, community.id), successors: {}, applied: true,
      });
    }
    const now = effectiveFrom.getTime() <= Date.now();
    const version = latestNumber + 1;
    const id = await insertVersion(trx, {
      communityId: community.id, version, effectiveFrom, userId: c.id, userName: c.displayName ?? c.username, note: input.note,
      grids: input.grids, successors, applied: false,
    });
    const applied = now ? await applyVersion(trx, id) : undefined;
    await appendAudit(trx, audit, {
      action: 'grid.plan.publish', entity: 'community', entityId: code,
      after: { version, effectiveFrom: effectiveFrom.toISOString(), grids: planCodes, successors, note: input.note },
    });
    return { status: 201, body: { version, effectiveFrom: effectiveFrom.toISOString(), applied: now }, events: applied ? [changedEvent(applied)] : [] };
  }, { userId: c.id, ...request });
}

/**
 * The system's timer: applies every version whose date has come, each exactly once whatever the
 * number of API processes (claimed with SKIP LOCKED, then applied under the community's lock).
 * Returns how many it applied.
 */
export async function applyDueGridPlansForSystem(deps: WriteDeps): Promise<number> {
  let applied = 0;
  for (;;) {
    const { body: done } = await runWrite(deps, async (trx) => {
      const due = await claimDueVersion(trx);
      if (!due) return { status: 200, body: false, events: [] };
      await lockCommunityPlan(trx, due.community_id);
      const version = (await isPending(trx, due.id)) ? await applyVersion(trx, due.id) : undefined;
      return { status: 200, body: true, events: version ? [changedEvent(version)] : [] };
    });
    if (!done) return applied;
    applied++;
  }
}

const changedEvent = (v: AppliedVersion) => gridsChanged({
  communityId: v.community_id, communityCode: v.community_code, districtId: v.district_id, version: v.version, generation: v.generation,
});

// --- Drafts ------------------------------------------------------------------------------------

const draftSummary = (d: DraftRow) => ({
  id: d.id,
  communityCode: d.community_code,
  author: d.author_id ? { id: d.author_id, name: d.author_name ?? '' } : null,
  baseVersion: d.base_version,
  revision: d.revision,
  createdAt: d.created_at.toISOString(),
  updatedAt: d.updated_at.toISOString(),
});
const draftView = (d: DraftRow) => ({ ...draftSummary(d), grids: d.grids as Proposal, history: d.history as { undo: unknown[]; redo: unknown[] } });

/** A draft the caller may see: its community is the caller's (404 otherwise). */
async function visibleDraft(db: Db, c: Caller, id: string, forUpdate = false): Promise<DraftRow> {
  const d = await findDraft(db, id, forUpdate);
  if (!d || !(inScope(c.areaCode, d.community_code) || c.areaCode.startsWith(d.community_code))) throw new ApiError(404, 'NOT_FOUND', `no draft "${id}"`);
  return d;
}

/** POST /api/planner/drafts: a draft of the community's latest version (its grids). 201. */
export async function createDraft(db: Kysely<DB>, c: Caller, communityCode: string) {
  return inTransaction(db, async (trx) => {
    const community = await communityFor(trx, c, communityCode, true);
    const latest = await latestVersion(trx, community.id);
    const grids = latest ? await versionGrids(trx, community.id, latest.version) : await gridsInForce(trx, community.id);
    const id = await insertDraft(trx, { communityId: community.id, authorId: c.id, authorName: c.displayName ?? c.username, baseVersion: latest?.version ?? 0, grids });
    return draftView((await findDraft(trx, id))!);
  });
}

/** GET /api/planner/drafts: the drafts of the caller's communities, newest first. */
export async function draftsFor(db: Db, c: Caller, q: { communityCode?: string; limit: number }) {
  const prefix = c.areaCode === '*' ? '' : c.areaCode.slice(0, Math.min(c.areaCode.length, 12));
  return { drafts: (await listDrafts(db, prefix, q.communityCode, q.limit)).map(draftSummary) };
}

export async function draftFor(db: Db, c: Caller, id: string) {
  return draftView(await visibleDraft(db, c, id));
}

/** PUT /api/planner/drafts/{id}: saved over `expectedRevision` (409 VERSION_CONFLICT when stale). */
export async function saveDraftFor(
  db: Kysely<DB>, c: Caller, id: string, body: { expectedRevision: number; grids: Proposal; history: { undo: unknown[]; redo: unknown[] }; baseVersion?: number },
) {
  checkShape(body.grids);
  return inTransaction(db, async (trx) => {
    const d = await visibleDraft(trx, c, id, true);
    await communityFor(trx, c, d.community_code, true);
    if (d.revision !== body.expectedRevision) {
      throw new ApiError(409, 'VERSION_CONFLICT', `the draft is at revision ${d.revision}, not ${body.expectedRevision}: reload it`, { revision: d.revision });
    }
    await saveDraft(trx, id, { grids: body.grids, history: body.history, baseVersion: body.baseVersion ?? d.base_version });
    return draftView((await findDraft(trx, id))!);
  });
}

/** What POST /api/planner/drafts/{id}/import was sent: the file and the form's fields. */
export interface DraftImport extends GridFileOptions {
  bytes: Uint8Array;
  expectedRevision?: number;
}


/**
 * POST /api/planner/drafts/{id}/import: the draft's grids become the file's (planner.import.ts),
 * as one edit on its undo stack — `setGrids` with the grids and the codes it drops, which turns the
 * draft's grids into the file's when the client replays its history — with the redo stack emptied
 * and the revision moved on, as a save. The draft's access (404, 403) is checked before the file is
 * read, and again under its lock; `expectedRevision`, when given, as a save checks it (409). Audited.
 */
export async function importDraftFor(db: Kysely<DB>, c: Caller, id: string, upload: DraftImport, audit: AuditContext) {
  const seen = await visibleDraft(db, c, id);
  await communityFor(db, c, seen.community_code, true);
  const imported = await parseGridFile(upload.bytes, upload);
  return inTransaction(db, async (trx) => {
    const d = await visibleDraft(trx, c, id, true);
    await communityFor(trx, c, d.community_code, true);
    if (upload.expectedRevision !== undefined && d.revision !== upload.expectedRevision) {
      throw new ApiError(409, 'VERSION_CONFLICT', `the draft is at revision ${d.revision}, not ${upload.expectedRevision}: reload it`, { revision: d.revision });
    }
    const codes = new Set(imported.features.map((f) => f.properties.code));
    const before = (d.grids as Partial<Proposal> | null)?.features ?? [];
    const remove = [...new Set(before.map((f) => f?.properties?.code).filter((code): code is string => typeof code === 'string' && !codes.has(code)))];
    const history = (d.history ?? {}) as { undo?: unknown; redo?: unknown };
    const undo = [...(Array.isArray(history.undo) ? history.undo : []), { kind: 'setGrids', grids: imported.features, remove }].slice(-MAX_DRAFT_HISTORY);
    await saveDraft(trx, id, { grids: { type: 'FeatureCollection', features: imported.features }, history: { undo, redo: [] }, baseVersion: d.base_version });
    await appendAudit(trx, audit, {
      action: 'grid.plan.draft_import', entity: 'grid_plan_draft', entityId: id,
      before: { communityCode: d.community_code, revision: d.revision, grids: before.length },
      after: { communityCode: d.community_code, revision: d.revision + 1, format: imported.format, crs: imported.crs, grids: imported.features.length, removed: remove, filename: upload.filename?.slice(0, 200) ?? null },
    });
    const draft = draftView((await findDraft(trx, id))!);
    return { draft, imported: { format: imported.format, crs: imported.crs, grids: imported.features.length } };
  });
}

/** DELETE /api/planner/drafts/{id}: by its author or an admin; audited. */
export async function deleteDraftFor(db: Kysely<DB>, c: Caller, id: string, audit: AuditContext): Promise<void> {
  await inTransaction(db, async (trx) => {
    const d = await visibleDraft(trx, c, id, true);
    if (d.author_id !== c.id && c.role !== 'admin') throw new ApiError(403, 'FORBIDDEN', 'only its author or an admin deletes a draft');
    await deleteDraft(trx, id);
    await appendAudit(trx, audit, { action: 'grid.plan.draft_delete', entity: 'grid_plan_draft', entityId: id, before: { communityCode: d.community_code, author: d.author_name, revision: d.revision } });
  });
}

// --- Bounds ------------------------------------------------------------------------------------

const settingsView = (r: SettingsRow) => ({
  tooSmallSquareMetres: r.too_small_m2, tooLargeSquareMetres: r.too_large_m2, minHouseholds: r.min_households, maxHouseholds: r.max_households,
  sliverRadiusMetres: r.sliver_radius_m, gapOverlapToleranceSquareMetres: r.gap_overlap_tolerance_m2, updatedAt: r.updated_at.toISOString(),
});

/** GET /api/planner/settings: the bounds validation applies. */
export async function planSettings(db: Db) {
  return settingsView(await readPlanSettings(db));
}

export interface PlanSettingsInput {
  tooSmallSquareMetres: number; tooLargeSquareMetres: number; minHouseholds: number; maxHouseholds: number;
  sliverRadiusMetres: number; gapOverlapToleranceSquareMetres: number;
}

/** PUT /api/planner/settings: the installation's bounds, by an admin of `*` (403 otherwise); audited with before and after. */
export async function setPlanSettings(db: Kysely<DB>, c: Caller, s: PlanSettingsInput, audit: AuditContext) {
  if (c.role !== 'admin' || c.areaCode !== '*') throw new ApiError(403, 'FORBIDDEN', 'the planner\'s bounds are the whole installation\'s: only an admin of the whole installation (*) changes them');
  if (s.tooSmallSquareMetres >= s.tooLargeSquareMetres) throw new ApiError(422, 'INVALID_PARAMETER', 'tooSmallSquareMetres must be below tooLargeSquareMetres', { parameter: 'tooSmallSquareMetres' });
  if (s.minHouseholds >= s.maxHouseholds) throw new ApiError(422, 'INVALID_PARAMETER', 'minHouseholds must be below maxHouseholds', { parameter: 'minHouseholds' });
  return inTransaction(db, async (trx) => {
    const before = settingsView(await readPlanSettings(trx));
    await writePlanSettings(trx, {
      too_small_m2: s.tooSmallSquareMetres, too_large_m2: s.tooLargeSquareMetres, min_households: s.minHouseholds, max_households: s.maxHouseholds,
      sliver_radius_m: s.sliverRadiusMetres, gap_overlap_tolerance_m2: s.gapOverlapToleranceSquareMetres,
    });
    const after = settingsView(await readPlanSettings(trx));
    await appendAudit(trx, audit, { action: 'grid.plan.settings', entity: 'grid_plan_settings', before, after });
    return after;
  });
}
