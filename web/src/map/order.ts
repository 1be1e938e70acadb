import type { LayerSpecification, Map as MaplibreMap } from 'maplibre-gl';

/** Groups of style layers, bottom to top. A group's layers always sit between its neighbours'. */
export const LAYER_GROUPS = ['areas', 'roads', 'buildings', 'grids', 'responders', 'incidents'] as const;
export type LayerGroup = (typeof LAYER_GROUPS)[number];

/** What a click on a feature of a layer selects (kept in the layer's metadata). */
export type PickKind = 'grid' | 'incident' | 'cluster' | 'responder' | 'building';

export interface LayerMetadata {
  'wangge:group': LayerGroup;
  'wangge:pick'?: PickKind;
}

export function groupOf(layer: { metadata?: unknown }): LayerGroup | undefined {
  const meta = layer.metadata as Partial<LayerMetadata> | undefined;
  return meta?.['wangge:group'];
}

export function pickKindOf(layer: { metadata?: unknown }): PickKind | undefined {
  const meta = layer.metadata as Partial<LayerMetadata> | undefined;
  return meta?.['wangge:pick'];
}

/**
 * The id of the first style layer that belongs above `group`, so that layers added for `group`
 * go below it whatever order the layer components were mounted in (e.g. after a toggle).
 */
export function beforeIdFor(map: MaplibreMap, group: LayerGroup): string | undefined {
  const rank = LAYER_GROUPS.indexOf(group);
  const layers: LayerSpecification[] = map.getStyle()?.layers ?? [];
  for (const layer of layers) {
    const other = groupOf(layer);
    if (other && LAYER_GROUPS.indexOf(other) > rank) return layer.id;
  }
  return undefined;
}
