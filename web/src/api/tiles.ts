import { absoluteUrl, getJson } from './http';

/** Tile layers the server publishes under /tiles/{layer}. */
export type TileLayer = 'areas' | 'grids' | 'buildings' | 'roads' | 'incidents' | 'responders';

/** The parts of a TileJSON 3 document the web app reads. */
export interface TileJson {
  tilejson: string;
  tiles: string[];
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  center?: [number, number, number];
  attribution?: string;
  vector_layers?: { id: string; fields?: Record<string, string>; minzoom?: number; maxzoom?: number }[];
}

/** Absolute URL of a layer's TileJSON, as MapLibre sources take it. */
export function tileJsonUrl(layer: TileLayer): string {
  return absoluteUrl(`/tiles/${layer}.json`);
}

export function fetchTileJson(layer: TileLayer, signal?: AbortSignal): Promise<TileJson> {
  return getJson<TileJson>(`/tiles/${layer}.json`, { signal });
}
