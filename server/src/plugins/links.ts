import fp from 'fastify-plugin';
import type { FastifyInstance, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The start of every absolute link the API writes (OGC API links, TileJSON tile URLs):
     * PUBLIC_URL, or — only behind a trusted proxy (TRUST_PROXY) — the scheme and host the proxy
     * forwarded. Never the Host header of an untrusted request.
     */
    linkBase(request: FastifyRequest): string;
  }
}

export default fp(
  async function links(app: FastifyInstance, opts: { publicUrl: string; trustProxy: boolean }) {
    const fixed = opts.publicUrl.replace(/\/+$/, '');
    app.decorate('linkBase', (request: FastifyRequest) => (opts.trustProxy ? `${request.protocol}://${request.host}` : fixed));
  },
  { name: 'links' },
);
