import fp from 'fastify-plugin';
import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { can, isPermission, type Permission } from '../auth/permissions.js';
import { SESSION_COOKIE, sessionUser, type SessionPolicy, type SessionUser } from '../auth/sessions.js';
import { SessionCache, SessionInvalidation } from '../auth/session-cache.js';
import { ApiError } from './errors.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** What a caller needs: a permission, or 'public' for routes open to everyone. Required. */
    permission?: Permission | 'public';
  }
  interface FastifyRequest {
    /** The signed-in user, when the request carries a live session. */
    user?: SessionUser;
    /** On a public route: why its session could not be looked up (the database away), if so. */
    sessionError?: unknown;
  }
  interface FastifyInstance {
    sessionPolicy: SessionPolicy;
    /** This process's memory of live sessions (auth/session-cache.ts) and what keeps it true. */
    sessionCache: SessionCache;
    sessionInvalidation: SessionInvalidation;
    setSessionCookie(reply: FastifyReply, request: FastifyRequest, token: string, expiresAt: Date): void;
    clearSessionCookie(reply: FastifyReply, request: FastifyRequest): void;
  }
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * One authorisation mechanism for every route:
 * - default deny: a route that declares no `config.permission` makes start-up fail;
 * - sessions from an httpOnly, SameSite=Strict cookie (Secure over TLS), checked in the database
 *   once and then answered from the session cache until a NOTIFY invalidates them (auth/session-cache.ts);
 * - 401 UNAUTHENTICATED without a live session, 403 FORBIDDEN without the permission;
 * - cross-site writes refused: an unsafe method whose Origin is not this host is 403 CSRF_REJECTED
 *   (defence in depth beside SameSite=Strict).
 */
export default fp(
  async function auth(app: FastifyInstance, opts: { sessionPolicy: SessionPolicy; sessionCacheTtlMs?: number }) {
    await app.register(cookie);
    app.decorate('sessionPolicy', opts.sessionPolicy);
    const cache = new SessionCache({ idleSeconds: opts.sessionPolicy.idleSeconds, ttlMs: opts.sessionCacheTtlMs });
    const invalidation = new SessionInvalidation({ pool: app.pool, mode: app.databaseMode, notifications: app.databaseNotifications, cache, log: app.log });
    app.decorate('sessionCache', cache);
    app.decorate('sessionInvalidation', invalidation);
    // Until the invalidation listens, the cache is off (every request reads its session).
    app.addHook('onReady', async () => invalidation.start());
    app.addHook('onClose', async () => invalidation.close());
    app.decorateRequest('user', undefined);

    // Checked once every plugin has added its routes (and its onRoute hooks have run).
    const routes: RouteOptions[] = [];
    app.addHook('onRoute', (route) => {
      routes.push(route);
    });
    app.addHook('onReady', async () => {
      const undeclared = routes.filter((r) => r.config?.permission !== 'public' && !isPermission(r.config?.permission));
      if (undeclared.length) {
        const list = undeclared.map((r) => `${r.method} ${r.url}`).join(', ');
        throw new Error(`routes without a declared permission (config.permission): ${list}; refusing to start`);
      }
    });

    app.decorate('setSessionCookie', (reply: FastifyReply, request: FastifyRequest, token: string, expiresAt: Date) => {
      reply.setCookie(SESSION_COOKIE, token, {
        path: '/',
        httpOnly: true,
        sameSite: 'strict',
        secure: request.protocol === 'https',
        expires: expiresAt,
      });
    });
    app.decorate('clearSessionCookie', (reply: FastifyReply, request: FastifyRequest) => {
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: request.protocol === 'https' });
    });

    app.addHook('onRequest', async (request) => {
      const permission = request.routeOptions.config?.permission;
      if (permission === undefined) return; // no route matched: the 404 handler answers
      if (UNSAFE.has(request.method) && !sameOrigin(request)) {
        throw new ApiError(403, 'CSRF_REJECTED', 'cross-site request refused: the Origin header names another site');
      }
      const token = request.cookies[SESSION_COOKIE];
      if (permission === 'public') {
        // Public routes answer without the database too (health reports it degraded).
        if (token) {
          request.user = await sessionUser(app.db, token, opts.sessionPolicy, cache).catch((err: unknown) => {
            request.sessionError = err;
            return undefined;
          });
        }
        return;
      }
      if (token) request.user = await sessionUser(app.db, token, opts.sessionPolicy, cache);
      if (!request.user) throw new ApiError(401, 'UNAUTHENTICATED', 'sign in first: no live session');
      if (!can(request.user.role, permission)) {
        throw new ApiError(403, 'FORBIDDEN', `role ${request.user.role} lacks the permission ${permission}`);
      }
    });
  },
  { name: 'auth', dependencies: ['errors', 'database'] },
);

/** An unsafe request is same-origin when it has no Origin (non-browser clients) or its Origin is this site (scheme and host). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (!origin) return true;
  try {
    return new URL(origin).origin === new URL(`${request.protocol}://${request.host}`).origin;
  } catch {
    return false;
  }
}

/**
 * Declares every route registered from now on in `instance` (an encapsulated context) public,
 * for plugins whose routes we do not write: the API docs UI, the web app's static files.
 */
export function markRoutesPublic(instance: FastifyInstance): void {
  instance.addHook('onRoute', (route) => {
    route.config = { ...route.config, permission: route.config?.permission ?? 'public' };
  });
}
