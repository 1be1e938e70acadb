import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { problem } from './errors.js';

/** Serves the built SPA; unknown non-API paths fall back to index.html for client-side routing. */
export default fp(
  async function web(app: FastifyInstance, opts: { root: string }) {
    const index = path.join(opts.root, 'index.html');
    if (!fs.existsSync(index)) {
      app.log.warn(`web app not built (${index} missing): run "pnpm build"`);
      return;
    }
    await app.register(fastifyStatic, {
      root: opts.root,
      wildcard: false,
      index: ['index.html'],
      setHeaders(res, filePath) {
        if (filePath.includes(`${path.sep}assets${path.sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
        else res.setHeader('Cache-Control', 'no-cache');
      },
    });
    app.setNotFoundHandler((request, reply) => {
      const p = request.url.split('?')[0];
      if (request.method !== 'GET' || p.startsWith('/api/') || p.startsWith('/tiles/') || path.extname(p)) {
        return reply
          .code(404)
          .type('application/problem+json; charset=utf-8')
          .send({ ...problem(404, 'NOT_FOUND', `no route for ${request.method} ${p}`), instance: p });
      }
      return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
    });
  },
  { name: 'web', dependencies: ['errors'] },
);
