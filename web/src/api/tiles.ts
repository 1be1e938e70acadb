import { absoluteUrl, api, call, type ApiResponse } from './http';

/** Tile layers the server publishes under /tiles/{layer}. */
export type TileLayer = 'areas' | 'grids' | 'buildings' | 'roads' | 'incidents' | 'responders' | 'area-labels' | 'grid-labels';

/** A layer's TileJSON 3 document. */
export type TileJson = ApiResponse<'/tiles/{layer}.json'>;

/** Absolute URL of a layer's TileJSON, as MapLibre sources take it. */
export function tileJsonUrl(layer: TileLayer): string {
  return absoluteUrl(`/tiles/${layer}.json`);
}

export function fetchTileJson(layer: TileLayer, signal?: AbortSignal): Promise<TileJson> {
  return call(api.GET('/tiles/{layer}.json', { params: { path: { layer } }, signal }));
}

/**
 * The URL of a tile request as the SPA sends it: the server writes the tile URLs of its TileJSON
 * from PUBLIC_URL (never from a request's Host header), while the SPA always reads its tiles from
 * the origin it was loaded from — so a wall screen that opened the dashboard by a LAN address or
 * through a proxy still gets its tiles when PUBLIC_URL names the server otherwise. MapLibre's
 * `transformRequest` (map/MapView.vue).
 */
export function sameOriginTileUrl(url: string, origin: string = window.location.origin): string {
  const u = new URL(url, origin);
  if (u.origin === origin || !u.pathname.startsWith('/tiles/')) return url;
  return `${origin}${u.pathname}${u.search}`;
}
