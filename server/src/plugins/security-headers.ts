import fp from 'fastify-plugin';
import helmet, { type FastifyHelmetOptions } from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';

/**
 * The security headers of every answer (CSP, frame, referrer, HSTS … from @fastify/helmet),
 * computed once and set as they are. Registered globally, @fastify/helmet builds its middleware
 * anew for every request (a fifth of a cached tile's time, measured); these headers do not vary by
 * request (no CSP nonces), so helmet runs for the first request only and its headers are copied
 * onto every later answer, problems included. A route may still set its own (the API docs' CSP).
 */
export default fp(
  async function securityHeaders(app: FastifyInstance, opts: FastifyHelmetOptions) {
    await app.register(helmet, { ...opts, global: false });
    let headers: Record<string, string | number | string[]> | undefined;
    app.addHook('onRequest', async (_request, reply) => {
      if (headers) {
        reply.headers(headers);
        return;
      }
      reply.helmet();
      headers = { ...reply.raw.getHeaders() } as Record<string, string | number | string[]>;
    });
  },
  { name: 'security-headers' },
);
