import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../../plugins/errors.js';
import { parseTileAddress } from './tiles.address.js';
import { TILE_LAYERS, TILE_LAYER_IDS, bandAt, isTileLayerId, type TileLayerDef } from './tiles.layers.js';
import { TILE_MEDIA_TYPE, TileJson, TileJsonParams, TileParams, TileQuery, TileResponses } from './tiles.schemas.js';
import { createTileService, tileCacheControl } from './tiles.service.js';

function layerOr404(id: string): TileLayerDef {
  if (!isTileLayerId(id)) throw new ApiError(404, 'UNKNOWN_LAYER', `no tile layer "${id}"; known: ${TILE_LAYER_IDS.join(', ')}`);
  return TILE_LAYERS[id];
}

/** Whether the client takes gzip (Accept-Encoding lists gzip or *, without q=0). */
function acceptsGzip(request: FastifyRequest): boolean {
  const header = request.headers['accept-encoding'];
  if (!header) return false;
  return header.split(',').some((part) => {
    const [coding, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((p) => /^\s*q=([\d.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    return (coding === 'gzip' || coding === '*') && (q === undefined || Number(q) > 0);
  });
}

function matchesIfNoneMatch(request: FastifyRequest, etags: Array<string | undefined>): boolean {
  const header = request.headers['if-none-match'];
  if (!header) return false;
  if (header.trim() === '*') return true;
  const offered = header.split(',').map((t) => t.trim().replace(/^W\//, ''));
  return etags.some((etag) => etag !== undefined && offered.includes(etag));
}

// Vector tiles: /tiles/{layer}.json (TileJSON) and /tiles/{layer}/{z}/{x}/{y} (MVT).
const tilesRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tiles = createTileService({
    db: app.db,
    nativeMvt: app.capabilities.nativeMvt,
    namedStatements: app.databaseMode === 'external' ? app.pool : undefined,
  });

  app.get(
    '/tiles/:layer.json',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['tiles'],
        summary: 'TileJSON of a tile layer: tile URL, zoom range, bounds, fields',
        params: TileJsonParams,
        response: { 200: TileJson },
      },
    },
    async (request, reply) => {
      const def = layerOr404(request.params.layer);
      reply.header('Cache-Control', tileCacheControl());
      // Bounds as far as the caller may see (its scope); URLs from PUBLIC_URL, never from the Host header.
      return tiles.tileJson(def.id, app.linkBase(request), request.user!.areaCode);
    },
  );

  app.get(
    '/tiles/:layer/:z/:x/:y',
    {
      config: { permission: 'map.read' },
      // Tiles carry their own gzip, made once per cached tile: @fastify/compress's hook would only
      // inspect every answer to leave it as it is.
      compress: false,
      schema: {
        tags: ['tiles'],
        summary: 'One vector tile (Mapbox Vector Tile); 204 when empty',
        params: TileParams,
        querystring: TileQuery,
        response: TileResponses,
      },
    },
    async (request, reply) => {
      const def = layerOr404(request.params.layer);
      const address = parseTileAddress(request.params.z, request.params.x, request.params.y);
      // What the caller may see: every tile is public until tiles are cut to a user's area scope.
      const scope = request.user!.areaCode;
      reply.header('Cache-Control', tileCacheControl());
      if (!bandAt(def, address.z)) return reply.code(204).send();
      const tile = await tiles.getTile(def.id, address, scope, request.query.v);
      if (tile.bytes.length === 0) return reply.code(204).send();
      const gzip = tile.gzip !== undefined && acceptsGzip(request);
      reply.header('ETag', gzip ? tile.gzipEtag : tile.etag);
      if (tile.gzip) reply.header('Vary', 'Accept-Encoding');
      if (matchesIfNoneMatch(request, [tile.etag, tile.gzipEtag])) return reply.code(304).send();
      reply.type(TILE_MEDIA_TYPE);
      if (gzip) reply.header('Content-Encoding', 'gzip');
      return reply.send(gzip ? tile.gzip : tile.bytes);
    },
  );
};

export default tilesRoutes;
