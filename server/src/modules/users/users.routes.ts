import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { ApiError } from '../../plugins/errors.js';
import { ROLES } from '../../auth/permissions.js';
import { createUser, UserInputError } from '../../auth/users.js';
import { hashPassword, passwordProblem } from '../../auth/passwords.js';
import { appendAudit } from '../../auth/audit.js';
import { getUser, listUsers } from './users.repository.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const Role = Type.Union(ROLES.map((r) => Type.Literal(r)));
const AreaCode = Type.String({ pattern: '^(\\*|[0-9]{6}([0-9]{3}){0,3})$', description: '* or a 6/9/12-digit area code or a 15-digit grid code' });
const User = Type.Object({
  id: Type.String(),
  username: Type.String(),
  displayName: Type.Union([Type.String(), Type.Null()]),
  role: Type.String(),
  areaCode: Type.String(),
  disabled: Type.Boolean(),
  responderId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String(),
});
const IdParams = Type.Object({ id: Type.String({ maxLength: 100 }) });

/** An admin manages the accounts of their own area and assigns only areas under it. */
function assertAssignable(request: FastifyRequest, areaCode: string) {
  const scope = request.user!.areaCode;
  if (scope !== '*' && (areaCode === '*' || !areaCode.startsWith(scope))) {
    throw new ApiError(403, 'FORBIDDEN', `you may only assign areas under ${scope}`);
  }
}

const audit = (request: FastifyRequest) => ({ user: request.user, ip: request.ip, requestId: request.id });

const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  async function userOr404(request: FastifyRequest, id: string) {
    const user = UUID.test(id) ? await getUser(app.pool, id, request.user!.areaCode) : undefined;
    if (!user) throw new ApiError(404, 'NOT_FOUND', `no user "${id}"`);
    return user;
  }

  app.get(
    '/api/users',
    {
      config: { permission: 'user.manage' },
      schema: {
        tags: ['users'],
        summary: 'Accounts of the admin\'s area',
        querystring: Type.Object({
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
          q: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: { 200: Type.Object({ users: Type.Array(User), numberMatched: Type.Integer() }) },
      },
    },
    async (request) => listUsers(app.pool, request.user!.areaCode, request.query),
  );

  app.post(
    '/api/users',
    {
      config: { permission: 'user.manage' },
      schema: {
        tags: ['users'],
        summary: 'Create an account (a grid worker gets its responder record)',
        body: Type.Object({
          username: Type.String({ maxLength: 40 }),
          password: Type.String({ maxLength: 200 }),
          role: Role,
          areaCode: AreaCode,
          displayName: Type.Optional(Type.String({ maxLength: 100 })),
        }),
        response: { 201: User },
      },
    },
    async (request, reply) => {
      const body = request.body;
      assertAssignable(request, body.areaCode);
      let created;
      try {
        created = await createUser(app.pool, body);
      } catch (err) {
        if (err instanceof UserInputError) throw new ApiError(/taken/.test(err.message) ? 409 : 400, /taken/.test(err.message) ? 'CONFLICT' : 'INVALID_PARAMETER', err.message);
        throw err;
      }
      const user = (await getUser(app.pool, created.id, '*'))!;
      await appendAudit(app.pool, audit(request), { action: 'user.create', entity: 'user', entityId: user.id, after: user });
      return reply.code(201).send(user);
    },
  );

  app.patch(
    '/api/users/:id',
    {
      config: { permission: 'user.manage' },
      schema: {
        tags: ['users'],
        summary: 'Change role, area, display name or disable/enable an account',
        params: IdParams,
        body: Type.Object(
          { role: Type.Optional(Role), areaCode: Type.Optional(AreaCode), displayName: Type.Optional(Type.String({ maxLength: 100 })), disabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: User },
      },
    },
    async (request) => {
      const before = await userOr404(request, request.params.id);
      const b = request.body;
      if (b.areaCode !== undefined) assertAssignable(request, b.areaCode);
      const role = b.role ?? before.role;
      const areaCode = b.areaCode ?? before.areaCode;
      if (areaCode === '*' && role !== 'admin') throw new ApiError(400, 'INVALID_PARAMETER', 'only admins may have the whole installation (*) as their area');
      if (before.id === request.user!.id && (b.disabled || (b.role && b.role !== 'admin'))) {
        throw new ApiError(409, 'CONFLICT', 'you cannot disable or demote your own account');
      }
      await app.pool.query(
        `UPDATE users SET role = $2, area_code = $3, display_name = coalesce($4, display_name), disabled = coalesce($5, disabled), updated_at = now() WHERE id = $1`,
        [before.id, role, areaCode, b.displayName ?? null, b.disabled ?? null],
      );
      // A change of what the account may do or see ends its sessions.
      if (b.disabled || role !== before.role || areaCode !== before.areaCode) await app.pool.query('DELETE FROM sessions WHERE user_id = $1', [before.id]);
      const after = (await getUser(app.pool, before.id, '*'))!;
      await appendAudit(app.pool, audit(request), { action: 'user.update', entity: 'user', entityId: before.id, before, after });
      return after;
    },
  );

  app.post(
    '/api/users/:id/password',
    {
      config: { permission: 'user.manage' },
      schema: {
        tags: ['users'],
        summary: 'Set a new password; ends the account\'s sessions',
        params: IdParams,
        body: Type.Object({ password: Type.String({ maxLength: 200 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const user = await userOr404(request, request.params.id);
      const weak = passwordProblem(request.body.password);
      if (weak) throw new ApiError(400, 'INVALID_PARAMETER', weak);
      const hash = await hashPassword(request.body.password);
      await app.pool.query('UPDATE users SET password_hash = $2, password_changed_at = now(), updated_at = now() WHERE id = $1', [user.id, hash]);
      await app.pool.query('DELETE FROM sessions WHERE user_id = $1', [user.id]);
      await appendAudit(app.pool, audit(request), { action: 'user.reset_password', entity: 'user', entityId: user.id });
      return reply.code(204).send(null);
    },
  );
};

export default usersRoutes;
