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
  // The page itself (the index at / and every client-side route): what its first view will ask for
  // at once is fetched while its code loads.
  app.addHook('onSend', async (request, reply) => {
    if (request.method !== 'GET' || !String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return;
    const links = firstRequests(request.url.split('?')[0], request.user?.role);
    if (links.length) reply.header('Link', links.map((u) => `<${u}>; rel=preload; as=fetch; crossorigin=anonymous`).join(', '));
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

/** Roles whose first view of `/` is the command map on every screen (a grid worker's or a department's phone opens elsewhere). */
const MAP_FIRST = new Set(['admin', 'commander', 'planner', 'viewer']);

/**
 * The API answers a page's first view waits for, in the order it asks (issue 11): the session (the
 * router's first question, on every page); signed in, the lifecycle (the router waits for it); on
 * the command map, the grids collection (its extent frames the map). Preloaded (HTTP `Link`), they
 * are on their way while the app's code loads instead of after it has run; each is one the app
 * then asks for with the same URL, so none is fetched twice or left unused.
 */
export function firstRequests(pagePath: string, role: string | undefined): string[] {
  if (!role) return ['/api/auth/session'];
  const out = ['/api/auth/session', '/api/meta'];
  if (pagePath === '/' && MAP_FIRST.has(role)) out.push('/api/collections/grids');
  return out;
}
