import { defineStore } from 'pinia';
import { reactive, ref, shallowRef } from 'vue';
import {
  fetchIncidentStats, listIncidents,
  type IncidentFeature, type IncidentListQuery, type IncidentPriority, type IncidentSort, type IncidentStats, type IncidentStatus,
} from '@/api/incidents';
import type { ApiProblem } from '@/api/http';
import { asProblem, isAbort } from '@/api/http';

export interface ListFilters {
  status: IncidentStatus[];
  category: string;
  priority: IncidentPriority[];
  overdue: boolean;
  escalated: boolean;
  /** [from, to] as Date objects from the date picker, or null. */
  range: [Date, Date] | null;
  q: string;
  sort: IncidentSort;
}

/** Overdue incidents the map flags at most (the API's list maximum), most overdue first. */
export const OVERDUE_MAP_LIMIT = 500;

const emptyFilters = (): ListFilters => ({
  status: [], category: '', priority: [], overdue: false, escalated: false, range: null, q: '', sort: '-reportedAt',
});

/** The list filters as the API's query (pure). */
export function filtersToQuery(f: ListFilters, page: number, pageSize: number): IncidentListQuery {
  return {
    status: f.status, category: f.category || undefined, priority: f.priority,
    overdue: f.overdue, escalated: f.escalated,
    from: f.range?.[0]?.toISOString(), to: f.range?.[1]?.toISOString(),
    q: f.q, sort: f.sort, limit: pageSize, offset: (page - 1) * pageSize,
  };
}

/**
 * The command centre's incident list: the headline stats, the filtered and paged list, and the
 * open overdue incidents the map rings.
 */
export const useIncidentListStore = defineStore('incidentList', () => {
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

  return {
    stats, overdue, filters, page, pageSize, list, total, listLoading, listProblem,
    refreshStats, watchOverdue, loadList, applyFilters, resetFilters,
  };
});
