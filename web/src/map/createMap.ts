import { Map as MaplibreMap } from 'maplibre-gl';
import 'maplibre-gl/dist/maplibre-gl.css';
import './worker';
import { baseStyle } from './baseStyle';
import { sameOriginTileUrl } from '@/api/tiles';

/**
 * The one way a map of the app is made (MapView, and the command map's early start in early.ts):
 * the base style, the camera limits, no fade, tiles from this origin. The camera starts anywhere;
 * the view frames its area once it is known.
 */
export function createMap(container: HTMLElement, locale?: Record<string, string>): MaplibreMap {
  const m = new MaplibreMap({
    container,
    style: baseStyle(),
    center: [116.397, 39.909],
    zoom: 11,
    minZoom: 3,
    maxZoom: 20,
    maxPitch: 60,
    renderWorldCopies: false,
    attributionControl: false,
    locale,
    // Labels appear at once: a fade repaints the whole map for every frame of it (issue 11).
    fadeDuration: 0,
    transformRequest: (url) => ({ url: sameOriginTileUrl(url) }),
  });
  // For the map benchmark (tests/bench/map-idle.bench.ts): when the map object exists.
  performance.mark('wangge:map-created');
  return m;
}
