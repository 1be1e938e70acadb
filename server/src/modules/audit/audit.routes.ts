import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { listAudit } from './audit.repository.js';
import { Entry } from './audit.schemas.js';

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/audit',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first, filtered and paged',
        querystring: Type.Object({
          action: Type.Optional(Type.String({ maxLength: 60 })),
          entity: Type.Optional(Type.String({ maxLength: 60 })),
          entityId: Type.Optional(Type.String({ maxLength: 100 })),
          actor: Type.Optional(Type.String({ maxLength: 100, description: 'actor username' })),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
        }),
        response: { 200: Type.Object({ entries: Type.Array(Entry), numberMatched: Type.Integer() }) },
      },
    },
    async (request) => {
      const { limit, offset, ...filter } = request.query;
      return listAudit(app.db, request.user!.areaCode, filter, { limit, offset });
    },
  );
};

export default auditRoutes;
