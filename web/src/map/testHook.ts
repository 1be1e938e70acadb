import type { Map as MaplibreMap } from 'maplibre-gl';

declare global {
  interface Window {
    /** The map, exposed only when the page is opened with `?e2e=1` (browser tests query rendered features). */
    __wanggeMap?: MaplibreMap;
  }
}

/** True when the page was opened with `?e2e=1`. */
export function isE2eHookEnabled(): boolean {
  return new URLSearchParams(window.location.search).get('e2e') === '1';
}
