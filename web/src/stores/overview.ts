import { defineStore } from 'pinia';
import { ref } from 'vue';
import { countFeatures, fetchCollections, type CollectionId } from '@/api/features';
import { fetchTileJson } from '@/api/tiles';
import { firstFramingBbox, type Bbox } from '@/geo/bbox';

type Counts = Partial<Record<CollectionId, number>>;

/** What the command centre covers: the area to frame and the headline counts. */
export const useOverviewStore = defineStore('overview', () => {
  const bounds = ref<Bbox | null>(null);
  const counts = ref<Counts>({});
  const loaded = ref(false);

  /** Frames the grids: their TileJSON bounds, else the extent the collections API reports. */
  async function loadOverview(): Promise<void> {
    const [tileJson, collections] = await Promise.allSettled([fetchTileJson('grids'), fetchCollections()]);
    const tileBounds = tileJson.status === 'fulfilled' ? tileJson.value.bounds : undefined;
    const extentOf = (id: CollectionId) =>
      collections.status === 'fulfilled' ? collections.value.find((c) => c.id === id)?.extent?.spatial.bbox[0] : undefined;
    bounds.value = firstFramingBbox(tileBounds, extentOf('grids'), extentOf('areas'));
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
