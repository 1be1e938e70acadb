import { inject, type InjectionKey, type ShallowRef } from 'vue';
import type { Map as MaplibreMap } from 'maplibre-gl';

/**
 * The map instance, provided by {@link MapView} to the components inside it. It lives in a
 * shallowRef and never in a store: it is a large mutable object that Vue must not make reactive.
 */
export const MAP_KEY: InjectionKey<ShallowRef<MaplibreMap | null>> = Symbol('wangge.map');

/** The map of the enclosing MapView (null until its style has loaded). */
export function useMap(): ShallowRef<MaplibreMap | null> {
  const map = inject(MAP_KEY);
  if (!map) throw new Error('useMap() called outside a <MapView>');
  return map;
}
