import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

// Vector tiles: /tiles/{layer}.json (TileJSON) and /tiles/{layer}/{z}/{x}/{y} (MVT). Being built.
const tilesRoutes: FastifyPluginAsyncTypebox = async () => {};

export default tilesRoutes;
