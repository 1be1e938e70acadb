import fs from 'node:fs';
import path from 'node:path';
import fp from 'fastify-plugin';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import { markRoutesPublic } from './auth.js';

/** Serves the built SPA; unknown page paths (not /api, /tiles or a file) fall back to index.html. */
export default fp(
  async function web(app: FastifyInstance, opts: { root: string }) {
    const index = path.join(opts.root, 'index.html');
    if (!fs.existsSync(index)) {
      app.log.warn(`web app not built (${index} missing): run "pnpm build"`);
      return;
    }
    // The app's files and its client-side routes are public; the API it calls is not.
    await app.register(async (files) => {
      markRoutesPublic(files);
      await registerFiles(files, opts.root);
    });
  },
  { name: 'web', dependencies: ['errors', 'auth'] },
);

async function registerFiles(app: FastifyInstance, root: string) {
  await app.register(fastifyStatic, {
    root,
    wildcard: false,
    index: ['index.html'],
    cacheControl: false,
    setHeaders(res, filePath) {
      if (filePath.includes(`${path.sep}assets${path.sep}`)) res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
      else res.setHeader('Cache-Control', 'no-cache');
    },
  });
  // Client-side routes: any other GET outside /api and /tiles that names no file gets the app.
  app.get('/*', { schema: { hide: true } }, async (request, reply) => {
    const p = request.url.split('?')[0];
    if (p.startsWith('/api/') || p.startsWith('/tiles/') || path.extname(p)) {
      throw new ApiError(404, 'NOT_FOUND', `no route for GET ${p}`);
    }
    return reply.header('Cache-Control', 'no-cache').sendFile('index.html');
  });
}
