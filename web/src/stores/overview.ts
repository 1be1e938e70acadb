import { defineStore } from 'pinia';
import { ref } from 'vue';
import { countFeatures, fetchCollection, fetchCollections, type CollectionId } from '@/api/features';
import { fetchTileJson } from '@/api/tiles';
import { firstFramingBbox, type Bbox } from '@/geo/bbox';

type Counts = Partial<Record<CollectionId, number>>;

/** What the command centre covers: the area to frame and the headline counts. */
export const useOverviewStore = defineStore('overview', () => {
  const bounds = ref<Bbox | null>(null);
  const counts = ref<Counts>({});
  const loaded = ref(false);

  /**
   * Frames the grids the user may see: the grids collection's extent, which the API cuts to the
   * user's area; else the areas' extent, else the TileJSON bounds (those cover the whole dataset).
   */
  async function loadOverview(): Promise<void> {
    // A new sign-in may have another scope: never frame what the last user saw.
    bounds.value = null;
    counts.value = {};
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
    await refreshCounts();
  }

  async function refreshCounts(): Promise<void> {
    const ids: CollectionId[] = ['grids', 'buildings', 'incidents', 'responders'];
    const results = await Promise.allSettled(ids.map((id) => countFeatures(id)));
    const next: Counts = {};
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') next[ids[i]] = r.value;
    });
    counts.value = next;
  }

  return { bounds, counts, loaded, loadOverview, refreshCounts };
});
