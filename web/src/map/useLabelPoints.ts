import { onBeforeUnmount, onMounted } from 'vue';
import type { GeoJSONSource } from 'maplibre-gl';
import { fetchItems, type CollectionId } from '@/api/features';
import { labelPoint } from '@/geo/labelPoint';
import type { Bbox } from '@/geo/bbox';
import { useMap } from './injection';
import { isAbort } from '@/api/http';

interface LabelFeature {
  type: 'Feature';
  id: string;
  geometry: { type: 'Point'; coordinates: [number, number] };
  properties: { id: string; code: string; name: string; level?: string };
}

const MAX_CACHED = 5000;
const PAGE = 1000;

function contains(outer: Bbox, inner: Bbox): boolean {
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
}

/**
 * One label point per polygon (grid, community, street), in a GeoJSON source. Polygon labels
 * drawn from vector tiles repeat in every tile a polygon crosses; a point per polygon does not.
 * The points are computed here from the polygons of the view (collections API), fetched again only
 * when the view leaves what was fetched.
 */
export function useLabelPoints(collection: Extract<CollectionId, 'grids' | 'areas'>, sourceId: string, fromZoom: number): void {
  const mapRef = useMap();
  const points = new Map<string, LabelFeature>();
  let fetched: Bbox | null = null;
  let controller: AbortController | null = null;

  async function refresh(): Promise<void> {
    const map = mapRef.value;
    if (!map?.style || map.getZoom() < fromZoom) return;
    const b = map.getBounds();
    const view: Bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
    if (fetched && contains(fetched, view)) return;
    const padX = (view[2] - view[0]) * 0.5;
    const padY = (view[3] - view[1]) * 0.5;
    const wanted: Bbox = [view[0] - padX, view[1] - padY, view[2] + padX, view[3] + padY];
    controller?.abort();
    const mine = new AbortController();
    controller = mine;
    try {
      const page = await fetchItems(collection, { bbox: wanted, limit: PAGE, signal: mine.signal });
      if (points.size + page.features.length > MAX_CACHED) points.clear();
      for (const f of page.features) {
        if (points.has(f.id)) continue;
        const at = labelPoint(f.geometry);
        if (!at) continue;
        points.set(f.id, {
          type: 'Feature',
          id: f.id,
          geometry: { type: 'Point', coordinates: at },
          properties: { id: f.id, code: f.properties.code, name: f.properties.name, ...('level' in f.properties ? { level: f.properties.level } : {}) },
        });
      }
      fetched = page.numberMatched <= page.numberReturned ? wanted : null;
      const source = mapRef.value?.getSource(sourceId) as GeoJSONSource | undefined;
      source?.setData({ type: 'FeatureCollection', features: [...points.values()] });
    } catch (err) {
      if (isAbort(err)) return;
      // Labels are an aid: a failed fetch leaves the previous ones and is retried on the next move.
      fetched = null;
    }
  }

  const onMoveEnd = () => void refresh();
  onMounted(() => {
    mapRef.value?.on('moveend', onMoveEnd);
    void refresh();
  });
  onBeforeUnmount(() => {
    controller?.abort();
    mapRef.value?.off('moveend', onMoveEnd);
  });
}
