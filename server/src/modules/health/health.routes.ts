import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { databaseReachable } from './health.repository.js';

const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Type.Object({
    mode: Type.Union([Type.Literal('embedded'), Type.Literal('external')]),
    postgres: Type.String(),
    postgis: Type.String(),
    nativeMvt: Type.Boolean(),
    reachable: Type.Boolean(),
  }),
});

const healthRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/health',
    { config: { permission: 'public' }, schema: { tags: ['system'], summary: 'Service and database status', response: { 200: Health, 503: Health } } },
    async (_request, reply) => {
      const reachable = await databaseReachable(app.db);
      const body = {
        status: reachable ? ('ok' as const) : ('degraded' as const),
        database: { mode: app.databaseMode, ...app.capabilities, reachable },
      };
      if (!reachable) reply.header('Retry-After', '5');
      return reply.code(reachable ? 200 : 503).send(body);
    },
  );
};

export default healthRoutes;
