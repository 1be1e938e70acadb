import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { IdParams } from '../../lib/schemas.js';
import { listUsers } from './users.repository.js';
import { addUser, changeUser, resetPassword, type Manager } from './users.service.js';
import { AreaCode, DepartmentCode, Role, User } from './users.schemas.js';

const manager = (request: FastifyRequest): Manager => ({ user: request.user!, ip: request.ip, requestId: request.id });

const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
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
    async (request) => listUsers(app.db, request.user!.areaCode, request.query),
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
          departmentCode: Type.Optional(DepartmentCode),
        }),
        response: { 201: User },
      },
    },
    async (request, reply) => reply.code(201).send(await addUser(app.db, manager(request), request.body)),
  );

  app.patch(
    '/api/users/:id',
    {
      config: { permission: 'user.manage', validation: { paramsNotFound: true } },
      schema: {
        tags: ['users'],
        summary: 'Change role, area, department, display name or disable/enable an account',
        params: IdParams,
        body: Type.Object(
          {
            role: Type.Optional(Role),
            areaCode: Type.Optional(AreaCode),
            departmentCode: Type.Optional(DepartmentCode),
            displayName: Type.Optional(Type.String({ maxLength: 100 })),
            disabled: Type.Optional(Type.Boolean()),
          },
          { additionalProperties: false, minProperties: 1 },
        ),
        response: { 200: User },
      },
    },
    async (request) => changeUser(app.db, manager(request), request.params.id, request.body),
  );

  app.post(
    '/api/users/:id/password',
    {
      config: { permission: 'user.manage', validation: { paramsNotFound: true } },
      schema: {
        tags: ['users'],
        summary: 'Set a new password; ends the account\'s sessions',
        params: IdParams,
        body: Type.Object({ password: Type.String({ maxLength: 200 }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await resetPassword(app.db, manager(request), request.params.id, request.body.password);
      return reply.code(204).send(null);
    },
  );
};

export default usersRoutes;
