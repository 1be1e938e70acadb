import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { gridSummary } from './grids.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const GridSummary = Type.Object({
  id: Type.String(),
  code: Type.String(),
  name: Type.String(),
  communityCode: Type.String(),
  communityName: Type.String(),
  streetCode: Type.String(),
  streetName: Type.String(),
  areaSquareMetres: Type.Number(),
  buildingCount: Type.Integer(),
  householdCount: Type.Integer(),
  openIncidentCount: Type.Integer(),
  incidentCountByStatus: Type.Record(Type.String(), Type.Integer()),
  responderCount: Type.Integer(),
  respondersByStatus: Type.Record(Type.String(), Type.Integer()),
});

const gridsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/grids/:id/summary',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['grids'],
        summary: 'Buildings, households, open incidents and responders of one grid',
        params: Type.Object({ id: Type.String({ maxLength: 100 }) }),
        response: { 200: GridSummary },
      },
    },
    async (request) => {
      const { id } = request.params;
      const summary = UUID.test(id) ? await gridSummary(app.db, id, request.user!.areaCode) : undefined;
      if (!summary) throw new ApiError(404, 'NOT_FOUND', `no grid "${id}"`);
      return summary;
    },
  );
};

export default gridsRoutes;
