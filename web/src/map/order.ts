import type { LayerSpecification, Map as MaplibreMap } from 'maplibre-gl';

/** Groups of style layers, bottom to top. A group's layers always sit between its neighbours'. */
export const LAYER_GROUPS = ['areas', 'roads', 'buildings', 'grids', 'responders', 'incidents'] as const;
export type LayerGroup = (typeof LAYER_GROUPS)[number];
/** Every group of the stack: the map's groups, then the planner's editing layers (borders, handles, drawing) on top. */
export const STACK_GROUPS = [...LAYER_GROUPS, 'plan'] as const;
export type StackGroup = (typeof STACK_GROUPS)[number];

/** What a click on a feature of a layer selects (kept in the layer's metadata). */
export type PickKind = 'grid' | 'incident' | 'cluster' | 'responder' | 'building';

export interface LayerMetadata {
  'wangge:group': StackGroup;
  'wangge:pick'?: PickKind;
  /**
   * A label that must stay legible over the symbols of the groups above its own (grid names over
   * incident bubbles): drawn above every group, still in group order among such labels.
   */
  'wangge:label-on-top'?: boolean;
}

export function groupOf(layer: { metadata?: unknown }): StackGroup | undefined {
  const meta = layer.metadata as Partial<LayerMetadata> | undefined;
  return meta?.['wangge:group'];
}

export function pickKindOf(layer: { metadata?: unknown }): PickKind | undefined {
  const meta = layer.metadata as Partial<LayerMetadata> | undefined;
  return meta?.['wangge:pick'];
}

function isLabelOnTop(layer: { metadata?: unknown }): boolean {
  const meta = layer.metadata as Partial<LayerMetadata> | undefined;
  return meta?.['wangge:label-on-top'] === true;
}

/**
 * Rank of a layer in the stack: the groups in order, then the labels on top in their groups' order.
 */
function rankOf(group: StackGroup, labelOnTop: boolean): number {
  return STACK_GROUPS.indexOf(group) + (labelOnTop ? STACK_GROUPS.length : 0);
}

/**
 * The id of the first style layer that belongs above a layer of `group`, so that layers added for
 * `group` go below it whatever order the layer components were mounted in (e.g. after a toggle).
 * `labelOnTop`: the layer is one of the labels drawn above every group.
 */
export function beforeIdFor(map: MaplibreMap, group: StackGroup, labelOnTop = false): string | undefined {
  const rank = rankOf(group, labelOnTop);
  const layers: LayerSpecification[] = map.getStyle()?.layers ?? [];
  for (const layer of layers) {
    const other = groupOf(layer);
    if (other && rankOf(other, isLabelOnTop(layer)) > rank) return layer.id;
  }
  return undefined;
}
