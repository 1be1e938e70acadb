import { ref, type ShallowRef } from 'vue';
import { useRoute, useRouter } from 'vue-router';
import type { Arrival } from './useAssignments';

/**
 * The incident sheet of the field and department views: which incident is open, kept in the URL
 * (`?incident=`) so a reload or a shared link opens it again; opening one marks it seen and
 * dismisses its arrival banner.
 */
export function useSheetRoute(assignments: { seen(id: string): void }, banner: ShallowRef<Arrival[] | null>) {
  const route = useRoute();
  const router = useRouter();
  const openId = ref<string | null>(typeof route.query.incident === 'string' ? route.query.incident : null);

  function open(id: string) {
    openId.value = id;
    assignments.seen(id);
    if (banner.value?.some((a) => a.id === id)) banner.value = null;
    void router.replace({ query: { ...route.query, incident: id } });
  }

  function close() {
    openId.value = null;
    const { incident: _gone, ...rest } = route.query;
    void router.replace({ query: rest });
  }

  return { openId, open, close };
}
