import { api, call, type ApiResponse } from './http';
import type { IncidentPriority } from './meta';

/** A GeoJSON geometry (RFC 7946, lon/lat); the web app reads it only to frame the map. */
export interface Geometry {
  type: string;
  coordinates?: unknown;
  geometries?: Geometry[];
}

/** Collections the API serves (OGC API Features). */
export type CollectionId = 'areas' | 'grids' | 'buildings' | 'roads' | 'responders' | 'incidents';

/**
 * A feature of a collection. The API declares the properties of every collection as one open
 * object, so their shape per collection is {@link PropertiesOf}.
 */
export type Feature<P> = Omit<ApiResponse<'/api/collections/{collectionId}/items/{featureId}'>, 'geometry' | 'properties'> & {
  geometry: Geometry | null;
  properties: P;
};

export type FeatureCollection<P> = Omit<ApiResponse<'/api/collections/{collectionId}/items'>, 'features'> & { features: Feature<P>[] };

export type CollectionInfo = Omit<ApiResponse<'/api/collections/{collectionId}'>, 'id'> & { id: CollectionId };

export interface GridProperties {
  code: string;
  name: string;
  communityCode: string;
  communityName: string;
  areaSquareMetres: number;
}

export interface IncidentProperties {
  category: string;
  priority: IncidentPriority;
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
  const body = await call(api.GET('/api/collections', { signal }));
  return body.collections as CollectionInfo[];
}

/** One collection: its extent (cut to the user's area by the API) and attribution. */
export async function fetchCollection(collection: CollectionId, signal?: AbortSignal): Promise<CollectionInfo> {
  return (await call(api.GET('/api/collections/{collectionId}', { params: { path: { collectionId: collection } }, signal }))) as CollectionInfo;
}

/** One feature of a collection. */
export async function fetchFeature<C extends CollectionId>(collection: C, id: string, signal?: AbortSignal): Promise<Feature<PropertiesOf[C]>> {
  const feature = await call(api.GET('/api/collections/{collectionId}/items/{featureId}', {
    params: { path: { collectionId: collection, featureId: id } }, signal,
  }));
  return feature as Feature<PropertiesOf[C]>;
}

/** How many features a collection holds (one request for one feature, reading `numberMatched`). */
export async function countFeatures(collection: CollectionId, signal?: AbortSignal): Promise<number> {
  const body = await call(api.GET('/api/collections/{collectionId}/items', { params: { path: { collectionId: collection }, query: { limit: 1 } }, signal }));
  return body.numberMatched;
}

/** One page of a collection's features within a bbox ([minLon, minLat, maxLon, maxLat]). */
export async function fetchItems<C extends CollectionId>(
  collection: C,
  opts: { bbox?: [number, number, number, number]; limit?: number; offset?: number; signal?: AbortSignal } = {},
): Promise<FeatureCollection<PropertiesOf[C]>> {
  const page = await call(api.GET('/api/collections/{collectionId}/items', {
    params: {
      path: { collectionId: collection },
      query: { bbox: opts.bbox?.map((v) => v.toFixed(6)).join(','), limit: opts.limit, offset: opts.offset },
    },
    signal: opts.signal,
  }));
  return page as FeatureCollection<PropertiesOf[C]>;
}
