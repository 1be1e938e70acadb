import { computed, onBeforeUnmount, onMounted, ref, shallowRef, watch } from 'vue';
import { useI18n } from 'vue-i18n';
import { ElNotification } from 'element-plus';
import 'element-plus/es/components/notification/style/css';
import { listIncidents, type IncidentFeature } from '@/api/incidents';
import type { ApiProblem } from '@/api/http';
import { useLiveEvents } from '@/stores/live';
import { useMetaStore } from '@/stores/meta';
import { useDisplay } from '@/i18n/useDisplay';


export interface Arrival {
  id: string;
  category: string;
  description: string;
  priority: string;
}

/**
 * The signed-in user's queue (`GET /api/incidents?assignedToMe=true`: a grid worker's responder,
 * or a department's incidents), kept current by the live stream: every incident event reloads it,
 * and an incident that newly appears with work to do is announced (`arrivals`). One that leaves
 * the queue while work was still to do — reassigned (改派) to someone else — is announced too.
 */
export function useAssignments(onArrival?: (arrivals: Arrival[]) => void) {
  const meta = useMetaStore();
  const { t } = useI18n();
  const display = useDisplay();
  const summary = (f: IncidentFeature) => `${display.term('category', f.properties.category)} · ${f.properties.description}`;
  /** The handler has work to do on it (a status its actions start from: the lifecycle from GET /api/meta). */
  const isActive = (status: string) => (meta.handlerStatuses as readonly string[]).includes(status);
  const items = shallowRef<IncidentFeature[]>([]);
  const loading = ref(false);
  const loaded = ref(false);
  const problem = shallowRef<ApiProblem | null>(null);
  /** Ids announced as new and not yet opened. */
  const fresh = ref<Set<string>>(new Set());
  let known: Set<string> | null = null;
  let pending: number | undefined;
  let running: Promise<void> | null = null;
  let again = false;

  async function load(): Promise<void> {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      loading.value = true;
      try {
        do {
          again = false;
          const page = await listIncidents({ assignedToMe: true, sort: '-reportedAt', limit: 200 });
          const activeIds = page.features.filter((f) => isActive(f.properties.status)).map((f) => f.properties.id);
          if (known) {
            const present = new Set(page.features.map((f) => f.properties.id));
            const gone = items.value.filter((f) => known!.has(f.properties.id) && !present.has(f.properties.id));
            if (gone.length) {
              ElNotification({
                title: t('field.list.takenAwayTitle', { n: gone.length }),
                message: summary(gone[0]),
                type: 'info',
                duration: 8000,
                customClass: 'field-notification',
              });
            }
            const arrivals = page.features
              .filter((f) => activeIds.includes(f.properties.id) && !known!.has(f.properties.id))
              .map((f) => ({ id: f.properties.id, category: f.properties.category, description: f.properties.description, priority: f.properties.priority }));
            if (arrivals.length) {
              fresh.value = new Set([...fresh.value, ...arrivals.map((a) => a.id)]);
              onArrival?.(arrivals);
            }
          }
          known = new Set(activeIds);
          items.value = page.features;
          problem.value = null;
          loaded.value = true;
        } while (again);
      } catch (err) {
        problem.value = err as ApiProblem;
      } finally {
        loading.value = false;
        running = null;
      }
    })();
    return running;
  }

  /** Several events in a burst make one reload. */
  function reloadSoon() {
    window.clearTimeout(pending);
    pending = window.setTimeout(() => void load(), 250);
  }

  const live = useLiveEvents({
    'incident.updated': () => reloadSoon(),
    'incident.created': () => reloadSoon(),
    reset: () => reloadSoon(),
  });
  watch(() => live.resyncCount, () => reloadSoon());

  onMounted(() => void load());
  onBeforeUnmount(() => window.clearTimeout(pending));

  const active = computed(() => items.value.filter((f) => isActive(f.properties.status)));
  const others = computed(() => items.value.filter((f) => !isActive(f.properties.status)));

  function seen(id: string) {
    if (!fresh.value.has(id)) return;
    const next = new Set(fresh.value);
    next.delete(id);
    fresh.value = next;
  }

  return { items, active, others, loading, loaded, problem, fresh, live, load, seen };
}
