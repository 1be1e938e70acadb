import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';

// PLACEHOLDER: routes land with issue 4.
const respondersRoutes: FastifyPluginAsyncTypebox<{ command?: unknown }> = async () => {};
export default respondersRoutes;
