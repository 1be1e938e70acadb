import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';

const Entry = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actorId: Type.Union([Type.String(), Type.Null()]),
  actorUsername: Type.Union([Type.String(), Type.Null()]),
  actorRole: Type.Union([Type.String(), Type.Null()]),
  action: Type.String(),
  entity: Type.String(),
  entityId: Type.Union([Type.String(), Type.Null()]),
  before: Type.Unknown(),
  after: Type.Unknown(),
  ip: Type.Union([Type.String(), Type.Null()]),
});

const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/audit',
    {
      config: { permission: 'audit.read' },
      schema: {
        tags: ['audit'],
        summary: 'The audit log, newest first, filtered and paged',
        querystring: Type.Object({
          action: Type.Optional(Type.String({ maxLength: 60 })),
          entity: Type.Optional(Type.String({ maxLength: 60 })),
          entityId: Type.Optional(Type.String({ maxLength: 100 })),
          actor: Type.Optional(Type.String({ maxLength: 100, description: 'actor username' })),
          from: Type.Optional(Type.String({ format: 'date-time' })),
          to: Type.Optional(Type.String({ format: 'date-time' })),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
          offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
        }),
        response: { 200: Type.Object({ entries: Type.Array(Entry), numberMatched: Type.Integer() }) },
      },
    },
    async (request) => {
      const q = request.query;
      const scope = request.user!.areaCode;
      const params = [q.action ?? null, q.entity ?? null, q.entityId ?? null, q.actor ?? null, q.from ?? null, q.to ?? null, scope];
      // An admin of an area sees what the accounts of that area did.
      const where = `WHERE ($1::text IS NULL OR action = $1) AND ($2::text IS NULL OR entity = $2) AND ($3::text IS NULL OR entity_id = $3)
                       AND ($4::text IS NULL OR actor_username = $4) AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)
                       AND ($7 = '*' OR actor_id IN (SELECT id FROM users WHERE area_code LIKE $7 || '%'))`;
      const [page, count] = await Promise.all([
        app.pool.query(
          `SELECT id::int AS id, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at, actor_id::text AS "actorId",
                  actor_username AS "actorUsername", actor_role AS "actorRole", action, entity, entity_id AS "entityId", before, after, ip
             FROM audit_log ${where} ORDER BY id DESC LIMIT $8 OFFSET $9`,
          [...params, q.limit, q.offset],
        ),
        app.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log ${where}`, params),
      ]);
      return { entries: page.rows, numberMatched: count.rows[0].n };
    },
  );
};

export default auditRoutes;
