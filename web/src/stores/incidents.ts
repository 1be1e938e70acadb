import { defineStore } from 'pinia';
import { computed, reactive, ref, shallowRef } from 'vue';
import {
  dispatchIncident, fetchCandidates, fetchCategories, fetchDepartments, fetchIncident, fetchIncidentStats, listIncidents,
  transitionIncident,
  type CandidatesAnswer, type Department, type DispatchTarget, type IncidentCategory, type IncidentFeature,
  type IncidentListQuery, type IncidentPriority, type IncidentSort, type IncidentStats, type IncidentStatusCode,
  type TransitionRequest,
} from '@/api/incidents';
import { ApiProblem } from '@/api/http';
import { CLOSED_STATUSES } from '@/map/palette';
import { duplicateWindow, possibleDuplicates, pushRecent, type DuplicateCandidate } from '@/modules/command/commandFormat';
import type { IncidentCreatedData, IncidentUpdatedData, LiveEvent } from './liveConnection';

const asProblem = (err: unknown) =>
  err instanceof ApiProblem ? err : new ApiProblem({ type: 'about:blank', title: String(err), status: 0, code: 'CLIENT_ERROR' });
const isAbort = (err: unknown) => err instanceof DOMException && err.name === 'AbortError';

/** An incident touched by the live stream in this tab, drawn from GeoJSON over the tiles. */
export interface LiveIncident {
  id: string;
  lon: number;
  lat: number;
  status: string;
  priority: string;
  category: string | null;
  /** Epoch ms until which the map pulses it. */
  flashUntil: number;
}

export interface FeedItem {
  eventId: string;
  type: 'incident.created' | 'incident.updated';
  incidentId: string;
  /** Epoch ms the tab received it. */
  receivedAt: number;
  status: string;
  priority: string;
  category: string | null;
  gridCode: string;
  action: string | null;
  lon: number;
  lat: number;
}

export interface Alarm {
  incidentId: string;
  category: string | null;
  gridCode: string;
  lon: number;
  lat: number;
  receivedAt: number;
}

export interface ListFilters {
  status: IncidentStatusCode[];
  category: string;
  priority: IncidentPriority[];
  overdue: boolean;
  escalated: boolean;
  /** [from, to] as Date objects from the date picker, or null. */
  range: [Date, Date] | null;
  q: string;
  sort: IncidentSort;
}

const FLASH_MS = 6000;
/** Overdue incidents the map flags at most (the API's list maximum), most overdue first. */
export const OVERDUE_MAP_LIMIT = 500;
const FEED_MAX = 60;
const MUTE_KEY = 'wangge.alarm.muted';

function loadMuted(): boolean {
  try {
    return window.localStorage.getItem(MUTE_KEY) === 'true';
  } catch {
    return false;
  }
}

const emptyFilters = (): ListFilters => ({
  status: [], category: '', priority: [], overdue: false, escalated: false, range: null, q: '', sort: '-reportedAt',
});

/** The list filters as the API's query (pure: also used by tests through the API client). */
export function filtersToQuery(f: ListFilters, page: number, pageSize: number): IncidentListQuery {
  return {
    status: f.status, category: f.category || undefined, priority: f.priority,
    overdue: f.overdue, escalated: f.escalated,
    from: f.range?.[0]?.toISOString(), to: f.range?.[1]?.toISOString(),
    q: f.q, sort: f.sort, limit: pageSize, offset: (page - 1) * pageSize,
  };
}

/**
 * The command centre's incidents: vocabularies (categories, departments), the headline stats, the
 * filtered list, the live feed with flashes and urgent alarms, the incident open in the drawer
 * (with its possible duplicates) and its candidates. Live events come in through
 * {@link applyLive}, called by the command view that holds the stream open.
 */
export const useIncidentsStore = defineStore('incidents', () => {
  const categories = ref<IncidentCategory[]>([]);
  const departments = ref<Department[]>([]);
  const stats = ref<IncidentStats | null>(null);

  /**
   * The open overdue incidents (most overdue first, up to {@link OVERDUE_MAP_LIMIT}), drawn on the
   * map as rings by the overdue layer while it is mounted; refreshed with the stats.
   */
  const overdue = shallowRef<IncidentFeature[]>([]);
  let overdueController: AbortController | null = null;
  let overdueWatchers = 0;

  const filters = reactive<ListFilters>(emptyFilters());
  const page = ref(1);
  const pageSize = ref(20);
  const list = shallowRef<IncidentFeature[]>([]);
  const total = ref(0);
  const listLoading = ref(false);
  const listProblem = shallowRef<ApiProblem | null>(null);
  let listController: AbortController | null = null;

  const feed = shallowRef<FeedItem[]>([]);
  const liveIncidents = shallowRef(new Map<string, LiveIncident>());
  const liveVersion = ref(0);
  const alarms = ref<Alarm[]>([]);
  const muted = ref(loadMuted());

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

  /** Where the map should fly next (the command view watches it). */
  const focus = ref<{ lon: number; lat: number; seq: number } | null>(null);

  const categoryByCode = computed(() => new Map(categories.value.map((c) => [c.code, c])));

  async function loadVocabularies(): Promise<void> {
    const [c, d] = await Promise.allSettled([fetchCategories(), fetchDepartments()]);
    if (c.status === 'fulfilled') categories.value = c.value;
    if (d.status === 'fulfilled') departments.value = d.value;
  }

  async function refreshStats(): Promise<void> {
    if (overdueWatchers > 0) void loadOverdue();
    try {
      stats.value = await fetchIncidentStats();
    } catch {
      // The counter keeps its last value; the next event or minute tries again.
    }
  }

  async function loadOverdue(): Promise<void> {
    overdueController?.abort();
    const mine = new AbortController();
    overdueController = mine;
    try {
      const answer = await listIncidents({ overdue: true, sort: 'dueAt', limit: OVERDUE_MAP_LIMIT }, mine.signal);
      if (overdueController === mine) overdue.value = answer.features;
    } catch {
      // The rings keep their last state; the next refresh of the stats tries again.
    } finally {
      if (overdueController === mine) overdueController = null;
    }
  }

  /**
   * Keeps {@link overdue} current: loads it now and with every refresh of the stats (live events,
   * the minute timer, the drawer's own steps) until the returned function is called.
   */
  function watchOverdue(): () => void {
    overdueWatchers += 1;
    void loadOverdue();
    let stopped = false;
    return () => {
      if (stopped) return;
      stopped = true;
      overdueWatchers -= 1;
      if (overdueWatchers === 0) {
        overdueController?.abort();
        overdueController = null;
        overdue.value = [];
      }
    };
  }

  async function loadList(): Promise<void> {
    listController?.abort();
    const mine = new AbortController();
    listController = mine;
    listLoading.value = true;
    try {
      const answer = await listIncidents(filtersToQuery(filters, page.value, pageSize.value), mine.signal);
      if (listController !== mine) return;
      list.value = answer.features;
      total.value = answer.numberMatched;
      listProblem.value = null;
    } catch (err) {
      if (listController !== mine || isAbort(err)) return;
      listProblem.value = asProblem(err);
    } finally {
      if (listController === mine) listLoading.value = false;
    }
  }

  function applyFilters(): Promise<void> {
    page.value = 1;
    return loadList();
  }

  function resetFilters(): Promise<void> {
    Object.assign(filters, emptyFilters());
    return applyFilters();
  }

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
    void refreshStats();
    void loadList();
    return answer;
  }

  async function dispatch(id: string, target: DispatchTarget): Promise<IncidentFeature> {
    const answer = await dispatchIncident(id, target);
    if (detailId.value === id) {
      detail.value = answer;
      clearCandidates();
      void reloadDetail();
    }
    void refreshStats();
    void loadList();
    return answer;
  }

  function flyTo(lon: number, lat: number): void {
    focus.value = { lon, lat, seq: (focus.value?.seq ?? 0) + 1 };
  }

  function touchLive(id: string, patch: Omit<LiveIncident, 'id' | 'flashUntil' | 'category'> & { category?: string | null }): void {
    const before = liveIncidents.value.get(id);
    const next = new Map(liveIncidents.value);
    next.set(id, {
      id, ...patch,
      category: patch.category ?? before?.category ?? null,
      flashUntil: Date.now() + FLASH_MS,
    });
    liveIncidents.value = next;
    liveVersion.value += 1;
  }

  function raiseAlarm(a: Alarm): boolean {
    if (alarms.value.some((x) => x.incidentId === a.incidentId)) return false;
    alarms.value = [a, ...alarms.value].slice(0, 20);
    return true;
  }

  function dismissAlarm(incidentId?: string): void {
    alarms.value = incidentId ? alarms.value.filter((a) => a.incidentId !== incidentId) : [];
  }

  function setMuted(on: boolean): void {
    muted.value = on;
    try {
      window.localStorage.setItem(MUTE_KEY, String(on));
    } catch {
      // Not remembered; applies to this page.
    }
  }

  /**
   * A live incident event: into the feed, onto the map (flashing), an alarm when it is urgent and
   * open. Returns true when a new alarm was raised (the view sounds it).
   */
  function applyLive(event: LiveEvent<'incident.created'> | LiveEvent<'incident.updated'>): boolean {
    const d = event.data as IncidentCreatedData | IncidentUpdatedData;
    const category = 'category' in d ? d.category : null;
    const action = 'action' in d ? d.action ?? null : null;
    feed.value = pushRecent(feed.value, {
      eventId: event.id, type: event.type, incidentId: d.incidentId, receivedAt: Date.now(),
      status: d.status, priority: d.priority, category: category ?? liveIncidents.value.get(d.incidentId)?.category ?? null,
      gridCode: d.gridCode, action, lon: d.lon, lat: d.lat,
    }, (x) => x.eventId, FEED_MAX);
    touchLive(d.incidentId, { lon: d.lon, lat: d.lat, status: d.status, priority: d.priority, category });
    const open = !(CLOSED_STATUSES as readonly string[]).includes(d.status);
    const becameUrgent = event.type === 'incident.created'
      || (event.type === 'incident.updated' && (d as IncidentUpdatedData).changes?.priority !== undefined);
    let raised = false;
    if (d.priority === 'urgent' && open && becameUrgent) {
      raised = raiseAlarm({
        incidentId: d.incidentId, category: category ?? liveIncidents.value.get(d.incidentId)?.category ?? null,
        gridCode: d.gridCode, lon: d.lon, lat: d.lat, receivedAt: Date.now(),
      });
    }
    if (!open || d.priority !== 'urgent') dismissAlarm(d.incidentId);
    if (detailId.value === d.incidentId && event.type === 'incident.updated') void reloadDetail();
    return raised;
  }

  /** Fills in the category of a live incident first seen through an update. */
  function setLiveCategory(id: string, category: string): void {
    const li = liveIncidents.value.get(id);
    if (!li || li.category === category) return;
    const next = new Map(liveIncidents.value);
    next.set(id, { ...li, category });
    liveIncidents.value = next;
    liveVersion.value += 1;
  }

  /**
   * After a `reset` (events were missed): the incidents drawn from the stream may be out of date,
   * so the map goes back to the tiles for them; the feed and the alarms stay (what they say happened).
   */
  function forgetLiveIncidents(): void {
    liveIncidents.value = new Map();
    liveVersion.value += 1;
  }

  /** When the view closes (sign-out, another view): nothing of the previous stream is kept. */
  function clearLive(): void {
    feed.value = [];
    liveIncidents.value = new Map();
    liveVersion.value += 1;
    alarms.value = [];
  }

  return {
    categories, departments, stats, overdue, categoryByCode,
    filters, page, pageSize, list, total, listLoading, listProblem,
    feed, liveIncidents, liveVersion, alarms, muted,
    detail, detailId, detailLoading, detailProblem, duplicates,
    candidates, candidatesFor, candidatesLoading, candidatesProblem,
    focus,
    loadVocabularies, refreshStats, watchOverdue, loadList, applyFilters, resetFilters,
    openDetail, closeDetail, reloadDetail, loadCandidates, clearCandidates, transition, dispatch,
    flyTo, applyLive, setLiveCategory, dismissAlarm, setMuted, clearLive, forgetLiveIncidents,
  };
});
