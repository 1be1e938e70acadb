import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { COLLECTIONS, COLLECTION_IDS, isCollectionId, type CollectionDef } from './collections.registry.js';
import { collectionExtent, getFeature, listFeatures } from './collections.repository.js';
import { layerAttributions } from './attribution.repository.js';
import { Collection, CollectionParams, FeatureCollection, Feature, ItemParams, ItemsQuery, Link } from './collections.schemas.js';
import { parseBbox, type Bbox } from '../../lib/bbox.js';

function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

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

const collectionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
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
        { href, rel: 'self', type: 'application/json' },
        { href: `${href}/items`, rel: 'items', type: 'application/geo+json' },
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
      const base = baseUrl(request);
      const collections = [];
      for (const id of COLLECTION_IDS) collections.push(await describe(COLLECTIONS[id], base, request.user!.areaCode));
      return { collections, links: [{ href: `${base}/api/collections`, rel: 'self', type: 'application/json' }] };
    },
  );

  app.get(
    '/api/collections/:collectionId',
    { config: { permission: 'map.read' },
      schema: { tags: ['features'], summary: 'One collection', params: CollectionParams, response: { 200: Collection } } },
    async (request) => describe(collectionOr404(request.params.collectionId), baseUrl(request), request.user!.areaCode),
  );

  app.get(
    '/api/collections/:collectionId/items',
    {
      config: { permission: 'map.read', rateLimit: { max: 600, timeWindow: '1 minute' } },
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
      const { limit, offset } = request.query;
      const bbox = request.query.bbox === undefined ? undefined : parseBbox(request.query.bbox);
      const { rows, numberMatched } = await listFeatures(app.db, def, { bbox, limit, offset, scope: request.user!.areaCode });
      const base = `${baseUrl(request)}/api/collections/${def.id}/items`;
      const page = (o: number) => {
        const q = new URLSearchParams({ limit: String(limit), offset: String(o) });
        if (request.query.bbox) q.set('bbox', request.query.bbox);
        return `${base}?${q}`;
      };
      const links = [{ href: page(offset), rel: 'self', type: 'application/geo+json' }];
      if (offset + rows.length < numberMatched) links.push({ href: page(offset + limit), rel: 'next', type: 'application/geo+json' });
      if (offset > 0) links.push({ href: page(Math.max(0, offset - limit)), rel: 'prev', type: 'application/geo+json' });
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
      return sendJsonText(reply, row.feature);
    },
  );
};

export default collectionsRoutes;
