import type { StyleSpecification } from 'maplibre-gl';
import { BASEMAP } from './palette';

/**
 * The style the map starts with: a background only. Every other layer is added by a layer
 * component. No `glyphs` and no `sprite`: labels are drawn with local fonts (CJK included) and
 * symbols are circles and lines, so the map makes no request outside the project's own server.
 */
export function baseStyle(): StyleSpecification {
  return {
    version: 8,
    name: 'wangge-command',
    sources: {},
    layers: [{ id: 'background', type: 'background', paint: { 'background-color': BASEMAP.background } }],
  };
}
