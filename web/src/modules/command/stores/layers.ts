import { defineStore } from 'pinia';
import { ref, watch } from 'vue';
import { LAYER_GROUPS, type LayerGroup } from '@/map/order';

const STORAGE_KEY = 'wangge.layers';
const INCLUDE_CLOSED_KEY = 'wangge.incidents.includeClosed';

function loadIncludeClosed(): boolean {
  try {
    return window.localStorage.getItem(INCLUDE_CLOSED_KEY) === 'true';
  } catch {
    return false;
  }
}

function load(): Record<LayerGroup, boolean> {
  const all = Object.fromEntries(LAYER_GROUPS.map((g) => [g, true])) as Record<LayerGroup, boolean>;
  try {
    const saved = JSON.parse(window.localStorage.getItem(STORAGE_KEY) ?? '{}') as Record<string, unknown>;
    for (const g of LAYER_GROUPS) if (typeof saved[g] === 'boolean') all[g] = saved[g];
  } catch {
    // Unreadable or disabled storage: every layer on.
  }
  return all;
}

/**
 * Which map layers are shown, and whether the incidents layer includes closed (historical) ones
 * besides the open ones a command centre watches; remembered across visits.
 */
export const useLayersStore = defineStore('layers', () => {
  const visible = ref(load());
  const includeClosedIncidents = ref(loadIncludeClosed());

  function setIncludeClosedIncidents(on: boolean): void {
    includeClosedIncidents.value = on;
  }

  function setLayerVisible(group: LayerGroup, on: boolean): void {
    visible.value[group] = on;
  }

  function showAllLayers(): void {
    for (const g of LAYER_GROUPS) visible.value[g] = true;
  }

  watch(visible, (v) => {
    try {
      window.localStorage.setItem(STORAGE_KEY, JSON.stringify(v));
    } catch {
      // Not remembered; the choice still applies to this page.
    }
  }, { deep: true });

  watch(includeClosedIncidents, (on) => {
    try {
      window.localStorage.setItem(INCLUDE_CLOSED_KEY, String(on));
    } catch {
      // Not remembered; the choice still applies to this page.
    }
  });

  return { visible, setLayerVisible, showAllLayers, includeClosedIncidents, setIncludeClosedIncidents };
});
