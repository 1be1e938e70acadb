import { onMounted, ref, shallowRef } from 'vue';
import { listIncidents, type IncidentFeature } from '@/api/incidents';
import { useLiveEvents } from '@/stores/live';

/** How many closed incidents waiting for their rating the phone lists (the newest). */
const TO_RATE_LIMIT = 20;

/**
 * 评价: the closed incidents of the grid worker's grid whose closure waits for its rating
 * (`GET /api/incidents?rated=false`: the grid in scope, so the worker's own grid), newest first;
 * reloaded when an incident changes (one closed, one rated).
 */
export function useToRate() {
  const items = shallowRef<IncidentFeature[]>([]);
  const loaded = ref(false);
  let timer: number | undefined;

  async function load(): Promise<void> {
    try {
      const page = await listIncidents({ rated: false, sort: '-reportedAt', limit: TO_RATE_LIMIT });
      // Only those this user may rate (the grid worker of the incident's grid).
      items.value = page.features.filter((f) => f.properties.allowedActions.includes('rate'));
      loaded.value = true;
    } catch {
      // The list is a convenience: it stays as it was, and the next change reloads it.
    }
  }

  /** Many events arrive together (a step and its responder); one reload for them. */
  function soon(): void {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void load(), 300);
  }

  useLiveEvents({ 'incident.updated': soon, reset: soon });
  onMounted(() => void load());
  return { items, loaded, load };
}
