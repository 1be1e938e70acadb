import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import {
  dispatchIncident, fetchCandidates, fetchIncident, listIncidents, transitionIncident,
  type CandidatesAnswer, type DispatchTarget, type IncidentFeature, type TransitionRequest,
} from '@/api/incidents';
import type { ApiProblem } from '@/api/http';
import { duplicateWindow, possibleDuplicates, type DuplicateCandidate } from '../commandFormat';
import { useIncidentListStore } from './list';
import { asProblem, isAbort } from '@/api/http';

/**
 * The incident open in the command centre's drawer (timeline, photos, allowed actions), its
 * possible duplicates and its dispatch candidates; the steps taken on it.
 */
export const useIncidentDetailStore = defineStore('incidentDetail', () => {
  const list = useIncidentListStore();

  const detail = shallowRef<IncidentFeature | null>(null);
  const detailId = ref<string | null>(null);
  const detailLoading = ref(false);
  const detailProblem = shallowRef<ApiProblem | null>(null);
  const duplicates = shallowRef<ReturnType<typeof possibleDuplicates>>([]);
  let detailController: AbortController | null = null;

  const candidates = shallowRef<CandidatesAnswer | null>(null);
  const candidatesFor = ref<string | null>(null);
  const candidatesLoading = ref(false);
  const candidatesProblem = shallowRef<ApiProblem | null>(null);
  let candidatesController: AbortController | null = null;

  async function loadDuplicates(incident: IncidentFeature, signal: AbortSignal): Promise<void> {
    const p = incident.properties;
    const span = duplicateWindow(p.reportedAt);
    try {
      const near = await listIncidents({ category: p.category, from: span.from, to: span.to, limit: 500 }, signal);
      const asCandidate = (f: IncidentFeature): DuplicateCandidate => ({
        id: f.properties.id ?? f.id, category: f.properties.category, status: f.properties.status,
        description: f.properties.description, reportedAt: f.properties.reportedAt, coordinates: f.geometry.coordinates,
      });
      if (detailController?.signal === signal) duplicates.value = possibleDuplicates(asCandidate(incident), near.features.map(asCandidate));
    } catch {
      // Duplicates are a hint: without them the drawer still works.
    }
  }

  /** Opens an incident in the drawer (timeline, photos, allowed actions) and looks for duplicates. */
  async function openDetail(id: string): Promise<void> {
    detailController?.abort();
    const mine = new AbortController();
    detailController = mine;
    if (detailId.value !== id) {
      detail.value = null;
      duplicates.value = [];
      clearCandidates();
    }
    detailId.value = id;
    detailLoading.value = detail.value === null;
    detailProblem.value = null;
    try {
      const loaded = await fetchIncident(id, mine.signal);
      if (detailController !== mine) return;
      detail.value = loaded;
      void loadDuplicates(loaded, mine.signal);
    } catch (err) {
      if (detailController !== mine || isAbort(err)) return;
      detailProblem.value = asProblem(err);
    } finally {
      if (detailController === mine) detailLoading.value = false;
    }
  }

  function closeDetail(): void {
    detailController?.abort();
    detailController = null;
    detailId.value = null;
    detail.value = null;
    detailProblem.value = null;
    detailLoading.value = false;
    duplicates.value = [];
    clearCandidates();
  }

  function reloadDetail(): Promise<void> {
    return detailId.value ? openDetail(detailId.value) : Promise.resolve();
  }

  async function loadCandidates(id: string, language: string): Promise<void> {
    candidatesController?.abort();
    const mine = new AbortController();
    candidatesController = mine;
    candidatesFor.value = id;
    candidatesLoading.value = true;
    candidatesProblem.value = null;
    try {
      const answer = await fetchCandidates(id, { k: 5, routes: true, language, signal: mine.signal });
      if (candidatesController === mine) candidates.value = answer;
    } catch (err) {
      if (candidatesController !== mine || isAbort(err)) return;
      candidatesProblem.value = asProblem(err);
      candidates.value = null;
    } finally {
      if (candidatesController === mine) candidatesLoading.value = false;
    }
  }

  function clearCandidates(): void {
    candidatesController?.abort();
    candidatesController = null;
    candidates.value = null;
    candidatesFor.value = null;
    candidatesLoading.value = false;
    candidatesProblem.value = null;
  }

  /** Takes a lifecycle step on the open incident; the answer (with timeline) replaces the detail. */
  async function transition(id: string, body: TransitionRequest): Promise<IncidentFeature> {
    const answer = await transitionIncident(id, { expectedVersion: detail.value?.properties.version, ...body });
    if (detailId.value === id) {
      detail.value = answer;
      void reloadDetail();
    }
    void list.refreshStats();
    void list.loadList();
    return answer;
  }

  async function dispatch(id: string, target: DispatchTarget): Promise<IncidentFeature> {
    const answer = await dispatchIncident(id, target);
    if (detailId.value === id) {
      detail.value = answer;
      clearCandidates();
      void reloadDetail();
    }
    void list.refreshStats();
    void list.loadList();
    return answer;
  }

  return {
    detail, detailId, detailLoading, detailProblem, duplicates,
    candidates, candidatesFor, candidatesLoading, candidatesProblem,
    openDetail, closeDetail, reloadDetail, loadCandidates, clearCandidates, transition, dispatch,
  };
});
