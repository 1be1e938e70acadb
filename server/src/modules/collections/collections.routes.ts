import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type, type Static } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { COLLECTIONS, COLLECTION_IDS, isCollectionId, type CollectionDef } from './collections.registry.js';
import { collectionExtent, getFeature, listFeatures } from './collections.repository.js';
import { layerAttributions } from './attribution.repository.js';
import { Collection, CollectionParams, DEFAULT_LIMIT, FeatureCollection, Feature, ItemParams, ItemsQuery, Link } from './collections.schemas.js';
import { FeatureBudget } from './collections.budget.js';
import { parseBbox, type Bbox } from '../../lib/bbox.js';

const JSON_TYPE = 'application/json';
const GEOJSON_TYPE = 'application/geo+json';

/**
 * Sends JSON already serialised by PostgreSQL. The route's response schema still documents the
 * shape (OpenAPI); the text is passed through instead of parsed and serialised again.
 */
function sendJsonText(reply: FastifyReply, text: string) {
  return reply.type('application/geo+json; charset=utf-8').send(text);
}

function collectionOr404(id: string): CollectionDef {
  if (!isCollectionId(id)) throw new ApiError(404, 'UNKNOWN_COLLECTION', `no collection "${id}"; known: ${COLLECTION_IDS.join(', ')}`);
  return COLLECTIONS[id];
}

// Every absolute link starts at app.linkBase(request) (PUBLIC_URL; the forwarded host only behind a
// trusted proxy), never at the request's own Host header.
const collectionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const budget = new FeatureBudget();
  const extentCache = new Map<string, { at: number; bbox: Bbox | null; attribution: string[] }>();
  async function describe(def: CollectionDef, base: string, scope: string) {
    const key = `${def.id}|${scope}`;
    let cached = extentCache.get(key);
    if (!cached || Date.now() - cached.at > 60_000) {
      const [bbox, attribution] = await Promise.all([collectionExtent(app.db, def, scope), layerAttributions(app.db, def.id)]);
      cached = { at: Date.now(), bbox, attribution };
      extentCache.set(key, cached);
    }
    const href = `${base}/api/collections/${def.id}`;
    return {
      id: def.id,
      title: def.title.en,
      description: def.description,
      itemType: 'feature' as const,
      crs: ['http://www.opengis.net/def/crs/OGC/1.3/CRS84'],
      ...(cached.bbox ? { extent: { spatial: { bbox: [cached.bbox], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84' } } } : {}),
      ...(cached.attribution.length ? { attribution: cached.attribution.join('; ') } : {}),
      links: [
        { href, rel: 'self', type: JSON_TYPE, title: `${def.title.en}: this collection` },
        { href: `${href}/items`, rel: 'items', type: GEOJSON_TYPE, title: `${def.title.en}: the features` },
      ],
    };
  }

  app.get(
    '/api/collections',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['features'],
        summary: 'Feature collections (OGC API Features)',
        response: { 200: Type.Object({ collections: Type.Array(Collection), links: Type.Array(Link) }) },
      },
    },
    async (request) => {
      const base = app.linkBase(request);
      const collections = [];
      for (const id of COLLECTION_IDS) collections.push(await describe(COLLECTIONS[id], base, request.user!.areaCode));
      return {
        collections,
        links: [
          { href: `${base}/api/collections`, rel: 'self', type: JSON_TYPE, title: 'Feature collections' },
          { href: `${base}/api`, rel: 'root', type: JSON_TYPE, title: 'Landing page' },
        ],
      };
    },
  );

  app.get(
    '/api/collections/:collectionId',
    { config: { permission: 'map.read' },
      schema: { tags: ['features'], summary: 'One collection', params: CollectionParams, response: { 200: Collection } } },
    async (request) => describe(collectionOr404(request.params.collectionId), app.linkBase(request), request.user!.areaCode),
  );

  app.get(
    '/api/collections/:collectionId/items',
    {
      // Budgeted in features served per user (collections.budget.ts), not in requests: a client
      // paging a collection by its next links with small pages is not refused half-way.
      config: { permission: 'map.read' },
      schema: {
        tags: ['features'],
        summary: 'Features of a collection, paged, optionally within a bbox',
        params: CollectionParams,
        querystring: ItemsQuery,
        response: { 200: FeatureCollection },
      },
    },
    async (request, reply) => {
      const def = collectionOr404(request.params.collectionId);
      const { limit = DEFAULT_LIMIT, offset = 0 } = request.query;
      const bbox = request.query.bbox === undefined ? undefined : parseBbox(request.query.bbox);
      const user = request.user!;
      const wait = budget.retryAfterSeconds(user.id);
      if (wait > 0) {
        throw new ApiError(429, 'RATE_LIMITED', `feature read budget spent; retry in ${wait} s`, { retryAfterSeconds: wait });
      }
      const { rows, numberMatched } = await listFeatures(app.db, def, { bbox, limit, offset, scope: user.areaCode });
      budget.charge(user.id, rows.length);
      const collection = `${app.linkBase(request)}/api/collections/${def.id}`;
      const page = (o: number) => {
        const q = new URLSearchParams({ limit: String(limit), offset: String(o) });
        if (request.query.bbox) q.set('bbox', request.query.bbox);
        return `${collection}/items?${q}`;
      };
      const links: Static<typeof Link>[] = [{ href: page(offset), rel: 'self', type: GEOJSON_TYPE, title: 'This page' }];
      if (offset + rows.length < numberMatched) links.push({ href: page(offset + limit), rel: 'next', type: GEOJSON_TYPE, title: 'Next page' });
      if (offset > 0) links.push({ href: page(Math.max(0, offset - limit)), rel: 'prev', type: GEOJSON_TYPE, title: 'Previous page' });
      links.push({ href: collection, rel: 'collection', type: JSON_TYPE, title: def.title.en });
      // Features arrive serialised by PostgreSQL; only the envelope is written here.
      const envelope = JSON.stringify({ numberMatched, numberReturned: rows.length, timeStamp: new Date().toISOString(), links });
      return sendJsonText(reply, `{"type":"FeatureCollection","features":[${rows.map((r) => r.feature).join(',')}],${envelope.slice(1)}`);
    },
  );

  app.get(
    '/api/collections/:collectionId/items/:featureId',
    {
      // A feature id that is not a uuid names no feature: 404 like an unknown one.
      config: { permission: 'map.read', validation: { paramsNotFound: true } },
      schema: { tags: ['features'], summary: 'One feature', params: ItemParams, response: { 200: Feature } },
    },
    async (request, reply) => {
      const def = collectionOr404(request.params.collectionId);
      const { featureId } = request.params;
      const row = await getFeature(app.db, def, featureId, request.user!.areaCode);
      if (!row) throw new ApiError(404, 'NOT_FOUND', `no feature "${featureId}" in collection ${def.id}`);
      const collection = `${app.linkBase(request)}/api/collections/${def.id}`;
      const links = JSON.stringify([
        { href: `${collection}/items/${featureId}`, rel: 'self', type: GEOJSON_TYPE, title: 'This feature' },
        { href: collection, rel: 'collection', type: JSON_TYPE, title: def.title.en },
      ]);
      // The feature text ends with its properties object's closing brace and its own.
      return sendJsonText(reply, `${row.feature.slice(0, -1)},"links":${links}}`);
    },
  );
};

export default collectionsRoutes;
