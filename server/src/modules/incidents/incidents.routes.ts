import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

// PLACEHOLDER: routes land with issue 4.
const incidentsRoutes: FastifyPluginAsyncTypebox<{ command?: unknown }> = async () => {};
export default incidentsRoutes;
