import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { verifyPassword } from '../../auth/passwords.js';
import { createSession, deleteSession, sessionUser, SESSION_COOKIE, type SessionUser } from '../../auth/sessions.js';
import { clearAccountFailures, loginBlockedFor, recordLoginFailure, type ThrottlePolicy } from '../../auth/throttle.js';
import { appendAudit } from '../../auth/audit.js';

export const LOGIN_THROTTLE: ThrottlePolicy = { windowSeconds: 15 * 60, maxPerAccount: 5, maxPerAddress: 50 };

const Me = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  areaCode: Type.String(),
  responderId: Type.Union([Type.String(), Type.Null()]),
});

const publicUser = (u: SessionUser) => ({
  id: u.id,
  username: u.username,
  displayName: u.displayName,
  role: u.role,
  areaCode: u.areaCode,
  responderId: u.responderId,
});

const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
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
      const { username, password } = request.body;
      const name = username.trim().toLowerCase();
      const wait = await loginBlockedFor(app.pool, name, request.ip, LOGIN_THROTTLE);
      if (wait > 0) {
        throw new ApiError(429, 'RATE_LIMITED', 'too many failed sign-ins; try again later', { retryAfterSeconds: wait });
      }
      const { rows } = await app.pool.query<{ id: string; password_hash: string; disabled: boolean }>(
        'SELECT id::text, password_hash, disabled FROM users WHERE username = $1',
        [name],
      );
      const account = rows[0];
      // Unknown usernames are checked against a decoy hash: same work, same answer.
      const ok = (await verifyPassword(account?.password_hash, password)) && account !== undefined && !account.disabled;
      if (!ok) {
        await recordLoginFailure(app.pool, name, request.ip, LOGIN_THROTTLE);
        throw new ApiError(401, 'INVALID_CREDENTIALS', 'unknown username or wrong password');
      }
      await clearAccountFailures(app.pool, name);
      // A new session id at every sign-in (no fixation): any session the client presented ends.
      const presented = request.cookies[SESSION_COOKIE];
      if (presented) await deleteSession(app.pool, presented);
      const { token, expiresAt } = await createSession(app.pool, account.id, app.sessionPolicy, {
        ip: request.ip,
        userAgent: request.headers['user-agent'],
      });
      app.setSessionCookie(reply, request, token, expiresAt);
      const user = (await sessionUser(app.pool, token, app.sessionPolicy))!;
      await appendAudit(app.pool, { user, ip: request.ip, requestId: request.id }, { action: 'auth.login', entity: 'user', entityId: user.id });
      return { user: publicUser(user) };
    },
  );

  app.post(
    '/api/auth/logout',
    { config: { permission: 'public' }, schema: { tags: ['auth'], summary: 'End the session', response: { 204: Type.Null() } } },
    async (request, reply) => {
      const token = request.cookies[SESSION_COOKIE];
      if (token) await deleteSession(app.pool, token);
      if (request.user) {
        await appendAudit(app.pool, { user: request.user, ip: request.ip, requestId: request.id }, { action: 'auth.logout', entity: 'user', entityId: request.user.id });
      }
      app.clearSessionCookie(reply, request);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/auth/me',
    { config: { permission: 'map.read' }, schema: { tags: ['auth'], summary: 'The signed-in user: role, area, responder', response: { 200: Me } } },
    async (request) => publicUser(request.user!),
  );
};

export default authRoutes;
