import { defineStore } from 'pinia';
import { computed, shallowRef, watch } from 'vue';
import { fetchMeta, type ActionRule, type IncidentAction, type IncidentStatus, type Meta } from '@/api/meta';
import { ApiProblem, asProblem } from '@/api/http';
import { useSessionStore } from './session';


/**
 * What the server says the app follows (`GET /api/meta`), loaded once after sign-in (the router
 * waits for it before the first view): the lifecycle table (statuses, open statuses, actions with
 * their from-statuses, note and photo rules, who takes them), priorities, photo limits, categories
 * and departments. Which buttons an incident shows is still its own `allowedActions`.
 */
export const useMetaStore = defineStore('meta', () => {
  const meta = shallowRef<Meta | null>(null);
  /** Why the last load failed (it is retried: on the next navigation, and after a growing delay). */
  const problem = shallowRef<ApiProblem | null>(null);
  let loading: Promise<void> | null = null;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let retryDelayMs = 2_000;
  const session = useSessionStore();

  /** Loads it once (later calls wait for the same answer); never rejects. */
  function ensureLoaded(): Promise<void> {
    loading ??= (async () => {
      try {
        meta.value = await fetchMeta();
        problem.value = null;
        retryDelayMs = 2_000;
      } catch (err) {
        problem.value = asProblem(err);
        loading = null;
        // Views built on the lifecycle wait for it: try again without waiting for a navigation.
        clearTimeout(retryTimer);
        if (session.user) retryTimer = setTimeout(() => void ensureLoaded(), retryDelayMs);
        retryDelayMs = Math.min(retryDelayMs * 2, 30_000);
      }
    })();
    return loading;
  }

  // A signed-out tab holds none; the next user loads it again.
  watch(() => session.user?.id ?? null, (id, before) => {
    if (id === before) return;
    clearTimeout(retryTimer);
    meta.value = null;
    problem.value = null;
    loading = null;
    retryDelayMs = 2_000;
  });

  const statuses = computed<readonly IncidentStatus[]>(() => meta.value?.lifecycle.statuses ?? []);
  /** Statuses after which an incident needs no more work (closed). */
  const closedStatuses = computed<readonly IncidentStatus[]>(() => {
    const open = meta.value?.lifecycle.openStatuses ?? [];
    return statuses.value.filter((s) => !open.includes(s));
  });
  const rules = computed(() => new Map<string, ActionRule>((meta.value?.lifecycle.actions ?? []).map((r) => [r.action, r])));
  /** Actions a handler (assigned grid worker or department) takes, in lifecycle order. */
  const handlerActions = computed<readonly IncidentAction[]>(() =>
    (meta.value?.lifecycle.actions ?? []).filter((r) => r.by === 'handler').map((r) => r.action));
  /** Actions the community (the grid worker of the incident's grid) takes besides the command centre: 评价. */
  const communityActions = computed<readonly IncidentAction[]>(() =>
    (meta.value?.lifecycle.actions ?? []).filter((r) => r.by === 'community').map((r) => r.action));
  /** Statuses in which the handler has work to do: those its actions start from. */
  const handlerStatuses = computed<readonly IncidentStatus[]>(() =>
    [...new Set((meta.value?.lifecycle.actions ?? []).filter((r) => r.by === 'handler').flatMap((r) => r.from))]);
  const priorities = computed(() => meta.value?.priorities ?? []);
  const categories = computed(() => meta.value?.categories ?? []);
  const categoryByCode = computed(() => new Map(categories.value.map((c) => [c.code, c])));
  const departments = computed(() => meta.value?.departments ?? []);
  const photos = computed(() => meta.value?.photos ?? null);

  /** Whether `action` taken from `status` needs a note (a rejection's reason, closing without handling …). */
  function noteRequired(action: string, status: string): boolean {
    return (rules.value.get(action)?.noteRequiredFrom as readonly string[] | undefined)?.includes(status) ?? false;
  }

  /** Whether `action` on an incident of `category` needs a photo (a category that requires proof to resolve). */
  function photoRequired(action: string, category: string | null | undefined): boolean {
    return action === 'resolve' && !!category && categoryByCode.value.get(category)?.photoRequired === true;
  }

  /** Whether photos may be attached to `action` as proof. */
  function takesPhotos(action: string): boolean {
    return rules.value.get(action)?.photos ?? false;
  }

  /** Whether `action` takes minutes (延期: asked for, or granted). */
  function takesMinutes(action: string): boolean {
    return rules.value.get(action)?.minutes ?? false;
  }

  /** Whether `action` takes a score 1–5 and an optional comment (评价). */
  function takesScore(action: string): boolean {
    return rules.value.get(action)?.score ?? false;
  }

  function isOpen(status: string): boolean {
    return !(closedStatuses.value as readonly string[]).includes(status);
  }

  /** Whether the role runs the command centre (the lifecycle's 'command' actor). */
  function isCommandRole(role: string | undefined): boolean {
    return role !== undefined && (meta.value?.lifecycle.actors.command as readonly string[] | undefined)?.includes(role) === true;
  }

  return {
    meta, problem, statuses, closedStatuses, handlerActions, communityActions, handlerStatuses, priorities, categories, categoryByCode, departments, photos,
    ensureLoaded, noteRequired, takesPhotos, takesMinutes, takesScore, photoRequired, isOpen, isCommandRole,
  };
});
