import { getJson } from './http';

/** A GeoJSON geometry (RFC 7946, lon/lat); the web app reads it only to frame the map. */
export interface Geometry {
  type: string;
  coordinates?: unknown;
  geometries?: Geometry[];
}

/** Collections the API serves (OGC API Features). */
export type CollectionId = 'areas' | 'grids' | 'buildings' | 'roads' | 'responders' | 'incidents';

export interface Feature<P> {
  type: 'Feature';
  id: string;
  geometry: Geometry | null;
  properties: P;
}

export interface FeatureCollection<P> {
  type: 'FeatureCollection';
  features: Feature<P>[];
  numberMatched: number;
  numberReturned: number;
}

export interface CollectionInfo {
  id: CollectionId;
  title: string;
  extent?: { spatial: { bbox: number[][] } };
  attribution?: string;
}

export interface GridProperties {
  code: string;
  name: string;
  communityCode: string;
  communityName: string;
  areaSquareMetres: number;
}

export interface IncidentProperties {
  category: string;
  priority: 'low' | 'normal' | 'high' | 'urgent';
  status: string;
  description: string;
  address: string | null;
  reportedAt: string;
  gridId: string | null;
  gridCode: string | null;
  nearBorder: boolean;
}

export interface ResponderProperties {
  kind: 'grid_worker' | 'patrol' | 'volunteer' | 'police';
  name: string;
  status: 'available' | 'busy' | 'off_duty';
  positionAt: string | null;
  homeGridId: string | null;
  homeGridCode: string | null;
}

export interface BuildingProperties {
  name: string | null;
  address: string | null;
  floors: number | null;
  heightMetres: number | null;
  householdCount: number;
  gridId: string | null;
  gridCode: string | null;
}

export interface PropertiesOf {
  grids: GridProperties;
  incidents: IncidentProperties;
  responders: ResponderProperties;
  buildings: BuildingProperties;
  areas: { code: string; name: string; level: string; parentCode: string | null };
  roads: { name: string | null; class: string; bridge: boolean; tunnel: boolean; layer: number };
}

/** The collections with their extents and attribution. */
export async function fetchCollections(signal?: AbortSignal): Promise<CollectionInfo[]> {
  const body = await getJson<{ collections: CollectionInfo[] }>('/api/collections', { signal });
  return body.collections;
}

/** One collection: its extent (cut to the user's area by the API) and attribution. */
export function fetchCollection(collection: CollectionId, signal?: AbortSignal): Promise<CollectionInfo> {
  return getJson<CollectionInfo>(`/api/collections/${collection}`, { signal });
}

/** One feature of a collection. */
export function fetchFeature<C extends CollectionId>(collection: C, id: string, signal?: AbortSignal): Promise<Feature<PropertiesOf[C]>> {
  return getJson(`/api/collections/${collection}/items/${encodeURIComponent(id)}`, { signal });
}

/** How many features a collection holds (one request for one feature, reading `numberMatched`). */
export async function countFeatures(collection: CollectionId, signal?: AbortSignal): Promise<number> {
  const body = await getJson<FeatureCollection<unknown>>(`/api/collections/${collection}/items`, { query: { limit: 1 }, signal });
  return body.numberMatched;
}

/** One page of a collection's features within a bbox ([minLon, minLat, maxLon, maxLat]). */
export function fetchItems<C extends CollectionId>(
  collection: C,
  opts: { bbox?: [number, number, number, number]; limit?: number; offset?: number; signal?: AbortSignal } = {},
): Promise<FeatureCollection<PropertiesOf[C]>> {
  return getJson(`/api/collections/${collection}/items`, {
    query: { bbox: opts.bbox?.map((v) => v.toFixed(6)).join(','), limit: opts.limit, offset: opts.offset },
    signal: opts.signal,
  });
}
