import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { SESSION_COOKIE, type SessionUser } from '../../auth/sessions.js';
import { signIn, signOut } from './auth.service.js';
import type { LoginPolicy } from '../../auth/login-policy.js';

const Me = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  areaCode: Type.String(),
  responderId: Type.Union([Type.String(), Type.Null()]),
  departmentCode: Type.Union([Type.String(), Type.Null()], { description: 'the department a department user works for (its queue), else null' }),
});

const publicUser = (u: SessionUser) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  role: u.role,
  areaCode: u.areaCode,
  responderId: u.responderId,
  departmentCode: u.departmentCode,
});

const authRoutes: FastifyPluginAsyncTypebox<{ login: LoginPolicy }> = async (app, opts) => {
  app.post(
    '/api/auth/login',
    {
      config: { permission: 'public', rateLimit: { max: 30, timeWindow: '1 minute' } },
      schema: {
        tags: ['auth'],
        summary: 'Sign in with username and password; sets the session cookie',
        body: Type.Object({ username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ minLength: 1, maxLength: 200 }) }),
        response: { 200: Type.Object({ user: Me }) },
      },
    },
    async (request, reply) => {
      const { token, expiresAt, user } = await signIn(app.db, app.sessionPolicy, opts.login, {
        ...request.body,
        ip: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: request.id,
        // A new session id at every sign-in (no fixation): any session the client presented ends.
        presentedToken: request.cookies[SESSION_COOKIE],
      });
      app.setSessionCookie(reply, request, token, expiresAt);
      return { user: publicUser(user) };
    },
  );

  app.post(
    '/api/auth/logout',
    { config: { permission: 'public' }, schema: { tags: ['auth'], summary: 'End the session', response: { 204: Type.Null() } } },
    async (request, reply) => {
      await signOut(app.db, request.cookies[SESSION_COOKIE], { user: request.user, ip: request.ip, requestId: request.id });
      app.clearSessionCookie(reply, request);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/auth/session',
    {
      config: { permission: 'public' },
      schema: {
        tags: ['auth'],
        summary: 'The signed-in user, or null: the app\'s session probe (200 either way; /api/auth/me is 401 without a session)',
        response: { 200: Type.Object({ user: Type.Union([Me, Type.Null()]) }) },
      },
    },
    async (request) => {
      // A session that could not be looked up is not "signed out": the database is away (503).
      if (request.sessionError) throw request.sessionError;
      return { user: request.user ? publicUser(request.user) : null };
    },
  );

  app.get(
    '/api/auth/me',
    { config: { permission: 'map.read' }, schema: { tags: ['auth'], summary: 'The signed-in user: role, area, responder', response: { 200: Me } } },
    async (request) => publicUser(request.user!),
  );
};

export default authRoutes;
