import type { GeoJSONSource } from 'maplibre-gl';

/** The data a GeoJSON source takes (MapLibre's own type, without naming the GeoJSON namespace). */
export type GeoJsonData = Parameters<GeoJSONSource['setData']>[0];

export interface PlainFeature {
  type: 'Feature';
  id?: string | number;
  geometry: { type: 'Point'; coordinates: [number, number] } | { type: 'LineString'; coordinates: [number, number][] };
  properties: Record<string, unknown>;
}

/** A FeatureCollection of plain features, as a GeoJSON source's data. */
export function featureCollection(features: PlainFeature[]): GeoJsonData {
  return { type: 'FeatureCollection', features } as unknown as GeoJsonData;
}
