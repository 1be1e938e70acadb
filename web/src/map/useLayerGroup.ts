import { onBeforeUnmount, onMounted } from 'vue';
import type { LayerSpecification, Map as MaplibreMap, SourceSpecification } from 'maplibre-gl';
import { useMap } from './injection';
import { beforeIdFor, type LayerMetadata, type PickKind, type StackGroup } from './order';
import { STYLE_CHANGE } from './styleOptions';

export interface LayerGroupSpec {
  group: StackGroup;
  sources: Record<string, SourceSpecification>;
  /** Layers bottom to top; `metadata` is filled in here. */
  layers: LayerSpecification[];
  /** Layer ids whose features a click selects, and what they select. */
  pick?: Record<string, PickKind>;
}

/**
 * Adds a group of sources and layers to the injected map when the calling component mounts and
 * removes them when it unmounts: a layer component is on the map exactly while it is rendered.
 * Returns the map for components that update paint properties or filters later.
 */
export function useLayerGroup(spec: LayerGroupSpec): { withMap: (fn: (map: MaplibreMap) => void) => void } {
  const mapRef = useMap();

  onMounted(() => {
    const map = mapRef.value;
    if (!map) return;
    // Through the style, unchecked in production (styleOptions.ts), then one update of the map.
    for (const [id, source] of Object.entries(spec.sources)) {
      if (!map.getSource(id)) map.style.addSource(id, source, STYLE_CHANGE);
    }
    for (const layer of spec.layers) {
      const onTop = (layer.metadata as Partial<LayerMetadata> | undefined)?.['wangge:label-on-top'] === true;
      const beforeId = beforeIdFor(map, spec.group, onTop);
      const pick = spec.pick?.[layer.id];
      const metadata = { ...(layer.metadata as object | undefined), 'wangge:group': spec.group, ...(pick ? { 'wangge:pick': pick } : {}) };
      map.style.addLayer({ ...layer, metadata } as LayerSpecification, beforeId, STYLE_CHANGE);
    }
    map._update(true);
  });

  onBeforeUnmount(() => {
    const map = mapRef.value;
    if (!map || !map.style) return;
    for (const layer of [...spec.layers].reverse()) {
      if (map.getLayer(layer.id)) map.removeLayer(layer.id);
    }
    for (const id of Object.keys(spec.sources)) {
      const stillUsed = map.getStyle().layers.some((l) => 'source' in l && l.source === id);
      if (!stillUsed && map.getSource(id)) map.removeSource(id);
    }
  });

  return {
    withMap(fn) {
      const map = mapRef.value;
      if (map?.style) fn(map);
    },
  };
}
