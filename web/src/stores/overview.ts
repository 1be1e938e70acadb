import { defineStore } from 'pinia';
import { ref } from 'vue';
import { countFeatures, fetchCollection, fetchCollections, type CollectionId } from '@/api/features';
import { fetchTileJson } from '@/api/tiles';
import { firstFramingBbox, type Bbox } from '@/geo/bbox';
import { useSessionStore } from './session';

type Counts = Partial<Record<CollectionId, number>>;

/** Counts fetched this recently (by the header, as the page opened) are not fetched again for the map. */
const FRESH_COUNTS_MS = 30_000;

/** What the command centre covers: the area to frame and the headline counts. */
export const useOverviewStore = defineStore('overview', () => {
  const session = useSessionStore();
  const bounds = ref<Bbox | null>(null);
  const counts = ref<Counts>({});
  /** Whose area `counts` are of (the user id when they were fetched); null: none yet. */
  const countsOf = ref<string | null>(null);
  const loaded = ref(false);
  /** The counts request under way, and for whom: a second caller waits for it instead of asking again. */
  let pending: { user: string; done: Promise<void> } | null = null;
  /** When `counts` were fetched (performance.now()). */
  let countsAt = -Infinity;

  /**
   * Frames the grids the user may see: the grids collection's extent, which the API cuts to the
   * user's area; else the areas' extent, else the TileJSON bounds (those cover the whole dataset).
   */
  async function loadOverview(): Promise<void> {
    // A new sign-in may have another scope: never frame what the last user saw.
    bounds.value = null;
    if (countsOf.value !== session.user?.id) counts.value = {};
    loaded.value = false;
    const grids = await fetchCollection('grids').catch(() => undefined);
    let framing = firstFramingBbox(grids?.extent?.spatial.bbox[0]);
    if (!framing) {
      const [collections, tileJson] = await Promise.allSettled([fetchCollections(), fetchTileJson('grids')]);
      const areas = collections.status === 'fulfilled' ? collections.value.find((c) => c.id === 'areas')?.extent?.spatial.bbox[0] : undefined;
      framing = firstFramingBbox(areas, tileJson.status === 'fulfilled' ? tileJson.value.bounds : undefined);
    }
    bounds.value = framing;
    loaded.value = true;
    // The header may have asked for them a moment ago (opening the map directly): that answer will do.
    if (pending && pending.user === session.user?.id) await pending.done;
    else if (countsOf.value !== session.user?.id || performance.now() - countsAt > FRESH_COUNTS_MS) await refreshCounts();
  }

  /** Fetches the headline counts of the signed-in user's area. */
  async function refreshCounts(): Promise<void> {
    const user = session.user?.id;
    if (!user) return;
    const ids: CollectionId[] = ['grids', 'buildings', 'incidents', 'responders'];
    const done = (async () => {
      const results = await Promise.allSettled(ids.map((id) => countFeatures(id)));
      // Signed out, or another user signed in, while they were on their way: not theirs to show.
      if (session.user?.id !== user) return;
      const next: Counts = {};
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') next[ids[i]] = r.value;
      });
      counts.value = next;
      countsOf.value = user;
      countsAt = performance.now();
    })();
    pending = { user, done };
    try {
      await done;
    } finally {
      if (pending?.done === done) pending = null;
    }
  }

  /**
   * The header's counts, whichever view was opened first (the map refreshes them as incidents come
   * in; the other views do not): fetched once per signed-in user, never another user's shown.
   */
  async function ensureCounts(): Promise<void> {
    const user = session.user?.id;
    if (!user) return;
    if (countsOf.value !== user) counts.value = {};
    if (countsOf.value === user && Object.keys(counts.value).length > 0) return;
    if (pending && pending.user === user) return pending.done;
    return refreshCounts();
  }

  return { bounds, counts, loaded, loadOverview, refreshCounts, ensureCounts };
});
