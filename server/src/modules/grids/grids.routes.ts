import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ApiError } from '../../plugins/errors.js';
import { IdParams } from '../../lib/schemas.js';
import { gridSummary } from './grids.repository.js';
import { GridSummary } from './grids.schemas.js';

const gridsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/grids/:id/summary',
    {
      // An id that is not a uuid names no grid: 404 like an unknown one.
      config: { permission: 'map.read', validation: { paramsNotFound: true } },
      schema: {
        tags: ['grids'],
        summary: 'Buildings, households, open incidents and responders of one grid',
        params: IdParams,
        response: { 200: GridSummary },
      },
    },
    async (request) => {
      const { id } = request.params;
      const summary = await gridSummary(app.db, id, request.user!.areaCode);
      if (!summary) throw new ApiError(404, 'NOT_FOUND', `no grid "${id}"`);
      return summary;
    },
  );
};

export default gridsRoutes;
