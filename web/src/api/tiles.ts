import { absoluteUrl, api, call, type ApiResponse } from './http';

/** Tile layers the server publishes under /tiles/{layer}. */
export type TileLayer = 'areas' | 'grids' | 'buildings' | 'roads' | 'incidents' | 'responders';

/** A layer's TileJSON 3 document. */
export type TileJson = ApiResponse<'/tiles/{layer}.json'>;

/** Absolute URL of a layer's TileJSON, as MapLibre sources take it. */
export function tileJsonUrl(layer: TileLayer): string {
  return absoluteUrl(`/tiles/${layer}.json`);
}

export function fetchTileJson(layer: TileLayer, signal?: AbortSignal): Promise<TileJson> {
  return call(api.GET('/tiles/{layer}.json', { params: { path: { layer } }, signal }));
}
