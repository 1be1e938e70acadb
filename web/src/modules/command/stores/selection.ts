import { defineStore } from 'pinia';
import { computed, ref, shallowRef } from 'vue';
import { fetchFeature, type Feature, type GridProperties, type IncidentProperties, type ResponderProperties } from '@/api/features';
import { fetchGridSummary, type GridSummary } from '@/api/grids';
import { ApiProblem, asProblem, isAbort } from '@/api/http';

export type SelectionKind = 'grid' | 'incident' | 'responder';

export type SelectionDetail =
  | { kind: 'grid'; feature: Feature<GridProperties>; summary: GridSummary }
  | { kind: 'incident'; feature: Feature<IncidentProperties> }
  | { kind: 'responder'; feature: Feature<ResponderProperties> };

/** The feature the side panel shows, and its details as loaded from the API. */
export const useSelectionStore = defineStore('selection', () => {
  const selected = ref<{ kind: SelectionKind; id: string } | null>(null);
  const detail = shallowRef<SelectionDetail | null>(null);
  const loading = ref(false);
  const problem = shallowRef<ApiProblem | null>(null);
  let controller: AbortController | null = null;

  const selectedIdOf = (kind: SelectionKind) => computed(() => (selected.value?.kind === kind ? selected.value.id : null));

  async function load(kind: SelectionKind, id: string, signal: AbortSignal): Promise<SelectionDetail> {
    if (kind === 'grid') {
      const [feature, summary] = await Promise.all([fetchFeature('grids', id, signal), fetchGridSummary(id, signal)]);
      return { kind, feature, summary };
    }
    if (kind === 'incident') return { kind, feature: await fetchFeature('incidents', id, signal) };
    return { kind, feature: await fetchFeature('responders', id, signal) };
  }

  /** Selects a feature and loads its details; a later selection cancels an earlier one still loading. */
  async function selectFeature(kind: SelectionKind, id: string): Promise<void> {
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    selected.value = { kind, id };
    detail.value = null;
    problem.value = null;
    loading.value = true;
    try {
      const loaded = await load(kind, id, mine.signal);
      if (controller === mine) detail.value = loaded;
    } catch (err) {
      if (controller !== mine || isAbort(err)) return;
      problem.value = asProblem(err);
    } finally {
      if (controller === mine) loading.value = false;
    }
  }

  function reloadSelection(): Promise<void> {
    return selected.value ? selectFeature(selected.value.kind, selected.value.id) : Promise.resolve();
  }

  function clearSelection(): void {
    controller?.abort();
    controller = null;
    selected.value = null;
    detail.value = null;
    problem.value = null;
    loading.value = false;
  }

  return {
    selected, detail, loading, problem,
    selectedGridId: selectedIdOf('grid'),
    selectedIncidentId: selectedIdOf('incident'),
    selectedResponderId: selectedIdOf('responder'),
    selectFeature, reloadSelection, clearSelection,
  };
});
