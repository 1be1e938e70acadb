/**
 * The planner's working state (issue 13): the community being planned, its draft on the server, the plan as the
 * edit engine holds it (PlanState + undo/redo History), the issues the server finds in it, its impact, and the
 * community's versions. Every edit goes through `edit()`: applied by the engine (pure, so undo/redo are exact),
 * then saved to the draft (serialised, with the draft's revision: a stale save is a conflict, never an overwrite)
 * and validated (debounced; only the newest answer counts).
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import {
  apply, commit, emptyHistory, fromGrids, redo as engineRedo, replay, toGrids, undo as engineUndo,
  PlanEditError, type Edit, type GridCollection, type GridFeature, type History, type PlanState,
} from './engine';
import {
  createDraft, deleteDraft, fetchCommunities, fetchPlanSettings, importDraftFile, rebalancePlan, fetchCommunity, fetchDiff, fetchDraft, fetchDrafts, fetchVersionGrids, fetchVersions,
  planImpact, publishVersion, saveDraft, validatePlan,
  type Draft, type PlanSettings, type PlanCommunity, type RebalanceProposal, type PlanCommunitySummary, type PlanImpact, type PlanIssue, type VersionDiff, type VersionList,
} from '@/api/planner';
import { asProblem, isAbort, type ApiProblem } from '@/api/http';
import { useSessionStore } from '@/stores/session';

export type PlannerMode = 'edit' | 'split' | 'merge' | 'block' | 'redraw';
export type SaveStatus = 'idle' | 'saving' | 'saved' | 'error' | 'conflict';

/** The server keeps at most this many edits in each stack of a draft's history. */
export const MAX_HISTORY = 500;
const VALIDATE_DELAY_MS = 350;
/** After a failed save (offline, server away), the next try. */
const SAVE_RETRY_MS = 3000;

/** A plan's grids compared by what the server keeps: code, name and coordinates (in code order: a file's grids keep the file's). */
const fingerprint = (fc: GridCollection) =>
  JSON.stringify(fc.features.map((f) => [f.properties.code, f.properties.name, f.geometry]).sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)));

export const usePlannerStore = defineStore('planner', () => {
  const session = useSessionStore();

  const communities = shallowRef<PlanCommunitySummary[]>([]);
  /** The bounds validation applies (the issues' texts name them). */
  const settings = shallowRef<PlanSettings | null>(null);
  const community = shallowRef<PlanCommunity | null>(null);
  const draft = shallowRef<Omit<Draft, 'grids' | 'history'> | null>(null);
  /** The published version the draft is based on, as a plan (undo goes back to it at most). */
  const base = shallowRef<PlanState | null>(null);
  const state = shallowRef<PlanState | null>(null);
  const history = shallowRef<History>(emptyHistory);
  const versions = shallowRef<VersionList | null>(null);
  const loading = ref(false);
  const loadError = ref<ApiProblem | null>(null);

  const mode = ref<PlannerMode>('edit');
  const selected = ref<string[]>([]);
  /** The last edit the engine refused (its stable code), for the view to explain. */
  const refused = ref<{ code: string; at: number } | null>(null);

  const issues = shallowRef<PlanIssue[]>([]);
  const validating = ref(false);
  const validated = ref(false);
  const impact = shallowRef<PlanImpact | null>(null);
  const impactLoading = ref(false);
  /** The assistant's proposals for the plan as it was when asked (cleared by any edit). */
  const proposals = shallowRef<RebalanceProposal[] | null>(null);
  const proposalsLoading = ref(false);
  const saveStatus = ref<SaveStatus>('idle');
  const saveError = ref<ApiProblem | null>(null);

  const writable = computed(() => Boolean(community.value?.writable && draft.value));
  const grids = computed<GridCollection | null>(() => (state.value ? toGrids(state.value) : null));
  const canUndo = computed(() => writable.value && history.value.undo.length > 0);
  const canRedo = computed(() => writable.value && history.value.redo.length > 0);
  const errors = computed(() => issues.value.filter((i) => i.severity === 'error'));
  const latestVersion = computed(() => versions.value?.latestVersion ?? community.value?.latestVersion ?? 0);
  /** The draft was drawn from an older version than the latest: publishing it would be refused. */
  const stale = computed(() => Boolean(draft.value && draft.value.baseVersion < latestVersion.value));

  async function loadCommunities(): Promise<void> {
    try {
      [communities.value, settings.value] = await Promise.all([fetchCommunities().then((r) => r.communities), fetchPlanSettings()]);
    } catch (err) {
      loadError.value = asProblem(err);
    }
  }

  const setPlan = (next: PlanState) => { state.value = markRaw(next); };

  /** Opens a community: the user's own newest draft of it (a new one if none), or the latest version to read. */
  async function open(code: string): Promise<void> {
    loading.value = true;
    loadError.value = null;
    clearTimers();
    mode.value = 'edit';
    selected.value = [];
    issues.value = [];
    validated.value = false;
    impact.value = null;
    saveStatus.value = 'idle';
    try {
      const c = await fetchCommunity(code);
      const v = await fetchVersions(code);
      community.value = c;
      versions.value = v;
      let d: Draft | null = null;
      if (c.writable) {
        const mine = (await fetchDrafts(code)).find((x) => x.author?.id === session.user?.id);
        d = mine ? await fetchDraft(mine.id) : await createDraft(code);
      }
      const baseGrids = await fetchVersionGrids(code, d?.baseVersion ?? v.latestVersion);
      const b = fromGrids(baseGrids);
      base.value = markRaw(b);
      if (d) {
        const { grids: draftGrids, history: h, ...rest } = d;
        draft.value = rest;
        const undoEdits = h.undo as Edit[];
        const saved = draftGrids as unknown as GridCollection;
        let plan: PlanState | null = null;
        try {
          const replayed = replay(b, undoEdits);
          const print = fingerprint(toGrids(replayed));
          // as saved by this client, or as the server wrote a file's grids (the engine normalises them: rings rewound)
          if (print === fingerprint(saved) || print === fingerprint(toGrids(fromGrids(saved)))) plan = replayed;
        } catch {
          plan = null;
        }
        if (plan) {
          history.value = { undo: undoEdits, redo: h.redo as Edit[] };
        } else {
          // The history does not lead to the draft's grids (cut at MAX_HISTORY): the grids count, undo starts here.
          plan = fromGrids(draftGrids as unknown as GridCollection);
          base.value = markRaw(plan);
          history.value = emptyHistory;
        }
        setPlan(plan);
      } else {
        draft.value = null;
        history.value = emptyHistory;
        setPlan(b);
      }
      scheduleValidate(0);
    } catch (err) {
      loadError.value = asProblem(err);
      community.value = null;
    } finally {
      loading.value = false;
    }
  }

  // --- Edits ------------------------------------------------------------------------------------------

  /** Applies an edit to the plan (and saves and validates); false when the engine refuses it (`refused` says why). */
  function edit(e: Edit): boolean {
    const refusal = tryEdit(e);
    if (refusal) refused.value = { code: refusal.code, at: Date.now() };
    return refusal === null;
  }

  /** Applies an edit as `edit` does, but answers the engine's refusal instead of announcing it (for trying candidates). */
  function tryEdit(e: Edit): PlanEditError | null {
    if (!state.value || !writable.value) return new PlanEditError('UNKNOWN_EDIT', 'nothing to edit');
    try {
      const step = commit(history.value, state.value, e);
      history.value = step.history;
      setPlan(step.state);
    } catch (err) {
      if (err instanceof PlanEditError) return err;
      throw err;
    }
    changed();
    return null;
  }

  /** Tries an edit without keeping it (a drag's preview): the plan it would make, or the engine's refusal. */
  function preview(e: Edit): PlanState | PlanEditError {
    try {
      return apply(state.value!, e);
    } catch (err) {
      if (err instanceof PlanEditError) return err;
      throw err;
    }
  }

  function undo(): void {
    if (!canUndo.value || !state.value) return;
    const step = engineUndo(history.value, state.value, base.value ?? undefined);
    history.value = step.history;
    setPlan(step.state);
    changed();
  }

  function redo(): void {
    if (!canRedo.value || !state.value) return;
    const step = engineRedo(history.value, state.value);
    history.value = step.history;
    setPlan(step.state);
    changed();
  }

  function changed(): void {
    impact.value = null;
    proposals.value = null;
    selected.value = selected.value.filter((c) => state.value?.indexByCode.has(c));
    scheduleSave();
    scheduleValidate(VALIDATE_DELAY_MS);
  }

  /** The next free code of the community: its code and the lowest 3 digits no grid of the plan has. */
  function nextCode(): string {
    const c = community.value!.code;
    const taken = new Set(state.value?.features.map((f) => f.properties.code));
    for (let n = 1; n < 1000; n++) {
      const code = `${c}${String(n).padStart(3, '0')}`;
      if (!taken.has(code)) return code;
    }
    return `${c}999`;
  }

  /** A validation fix: the new geometry of each grid it changes, as one undoable edit. */
  function applyFix(issue: PlanIssue): boolean {
    const plan = state.value;
    if (!issue.fix || !plan) return false;
    const grids: GridFeature[] = issue.fix.grids.flatMap((g) => {
      const i = plan.indexByCode.get(g.code);
      const geometry = g.geometry as unknown as GridFeature['geometry'];
      if (i === undefined || (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon')) return [];
      return [{ type: 'Feature', properties: { code: g.code, name: plan.features[i]!.properties.name }, geometry }];
    });
    return grids.length > 0 && edit({ kind: 'setGrids', grids });
  }

  // --- Saving the draft --------------------------------------------------------------------------------

  let saving: Promise<void> | null = null;
  let dirty = false;
  let saveTimer: ReturnType<typeof setTimeout> | undefined;

  function scheduleSave(): void {
    dirty = true;
    saveStatus.value = 'saving';
    clearTimeout(saveTimer);
    saveTimer = setTimeout(() => void flush(), 250);
  }

  /** Saves until the server has the plan as it is now (one request at a time, over the revision last read). */
  async function flush(): Promise<void> {
    if (saving) return saving;
    saving = (async () => {
      while (dirty && draft.value && state.value && saveStatus.value !== 'conflict') {
        dirty = false;
        const d = draft.value;
        const h = history.value;
        try {
          const saved = await saveDraft(d.id, d.revision, toGrids(state.value), { undo: h.undo.slice(-MAX_HISTORY), redo: h.redo.slice(-MAX_HISTORY) });
          if (draft.value?.id === d.id) draft.value = { ...d, revision: saved.revision, updatedAt: saved.updatedAt };
          saveError.value = null;
          saveStatus.value = dirty ? 'saving' : 'saved';
        } catch (err) {
          const p = asProblem(err);
          saveError.value = p;
          saveStatus.value = p.code === 'VERSION_CONFLICT' ? 'conflict' : 'error';
          if (saveStatus.value === 'error') {
            // a dropped connection or a server away: the plan stays here and is sent again
            dirty = true;
            clearTimeout(saveTimer);
            saveTimer = setTimeout(() => void flush(), SAVE_RETRY_MS);
          }
          break;
        }
      }
    })();
    try {
      await saving;
    } finally {
      saving = null;
    }
  }

  // --- Validation and impact ---------------------------------------------------------------------------

  let validateTimer: ReturnType<typeof setTimeout> | undefined;
  let validateController: AbortController | null = null;

  function scheduleValidate(delay: number): void {
    clearTimeout(validateTimer);
    validating.value = true;
    validateTimer = setTimeout(() => void validate(), delay);
  }

  async function validate(): Promise<void> {
    if (!state.value || !community.value) return;
    validateController?.abort();
    const own = (validateController = new AbortController());
    validating.value = true;
    try {
      const found = await validatePlan(community.value.code, toGrids(state.value), own.signal);
      if (own === validateController) {
        issues.value = found;
        validated.value = true;
        loadError.value = null;
      }
    } catch (err) {
      if (!isAbort(err) && own === validateController) loadError.value = asProblem(err);
    } finally {
      if (own === validateController) validating.value = false;
    }
  }

  async function loadImpact(successors: Record<string, string> = {}): Promise<void> {
    if (!state.value || !community.value) return;
    impactLoading.value = true;
    try {
      impact.value = await planImpact(community.value.code, toGrids(state.value), successors);
    } catch (err) {
      loadError.value = asProblem(err);
    } finally {
      impactLoading.value = false;
    }
  }

  async function loadProposals(): Promise<void> {
    if (!state.value || !community.value) return;
    proposalsLoading.value = true;
    try {
      proposals.value = await rebalancePlan(community.value.code, toGrids(state.value));
    } catch (err) {
      loadError.value = asProblem(err);
    } finally {
      proposalsLoading.value = false;
    }
  }

  /** Takes a proposal into the plan as one undoable edit (a split along its street, or a merge). */
  function acceptProposal(p: RebalanceProposal, newName: (name: string) => string): boolean {
    const plan = state.value;
    if (!plan) return false;
    if (p.kind === 'merge') return edit({ kind: 'mergeGrids', codes: [p.codes[0]!, p.codes[1]!], code: p.codes[0]! });
    const code = p.codes[0]!;
    const i = plan.indexByCode.get(code);
    const line = (p.line as { coordinates?: [number, number][] } | null)?.coordinates;
    if (i === undefined || !line) return false;
    const newCode = nextCode();
    const ok = edit({ kind: 'splitGrid', code, line, newCode, newName: newName(plan.features[i]!.properties.name) });
    if (ok) selected.value = [code, newCode];
    return ok;
  }

  /** A file's grids into the draft (saved first; the import is one edit of the history, undoable). */
  async function importFile(file: File, crs?: string) {
    const c = community.value, d = draft.value;
    if (!c || !d) throw new Error('no draft');
    await flush();
    const answer = await importDraftFile(d.id, file, { crs, expectedRevision: draft.value!.revision });
    await open(c.code);
    return answer.imported;
  }

  // --- Publishing and history --------------------------------------------------------------------------

  /** Publishes the plan; on success the draft is done with and the community is opened again at the new version. */
  async function publish(input: { effectiveFrom?: string; note: string; successors: Record<string, string> }, key: string): Promise<{ version: number; applied: boolean }> {
    const c = community.value!, d = draft.value!;
    await flush();
    const answer = await publishVersion(c.code, {
      grids: toGrids(state.value!), baseVersion: d.baseVersion, note: input.note,
      ...(input.effectiveFrom ? { effectiveFrom: input.effectiveFrom } : {}),
      ...(Object.keys(input.successors).length ? { successors: input.successors } : {}),
    }, key);
    await deleteDraft(d.id).catch(() => undefined);
    await open(c.code);
    void loadCommunities();
    return answer;
  }

  /** Starts over from the latest version: the draft is deleted and a new one made. */
  async function discardDraft(): Promise<void> {
    const c = community.value, d = draft.value;
    if (!c || !d) return;
    clearTimers();
    dirty = false;
    await deleteDraft(d.id);
    draft.value = null;
    await open(c.code);
  }

  function diff(from: number, to: number): Promise<VersionDiff> {
    return fetchDiff(community.value!.code, from, to);
  }

  function versionGrids(version: number): Promise<GridCollection> {
    return fetchVersionGrids(community.value!.code, version);
  }

  function clearTimers(): void {
    clearTimeout(validateTimer);
    clearTimeout(saveTimer);
    validateController?.abort();
  }

  return {
    communities, settings, community, draft, base, state, history, versions, loading, loadError, mode, selected, refused,
    issues, validating, validated, impact, impactLoading, proposals, proposalsLoading, saveStatus, saveError,
    writable, grids, canUndo, canRedo, errors, latestVersion, stale,
    loadCommunities, open, edit, tryEdit, preview, undo, redo, nextCode, applyFix, flush, validate, loadImpact, loadProposals, acceptProposal, importFile, publish, discardDraft, diff, versionGrids, clearTimers,
  };
});
