import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { DEFAULT_COMMAND_CONFIG, type CommandConfig } from '../../config.js';
import { IdParams } from '../../lib/schemas.js';
import { ApiError } from '../../plugins/errors.js';
import type { WriteDeps } from '../../write/write.js';
import { CandidatesService } from './candidates.service.js';
import { listResponders, type Presence } from './responders.repository.js';
import { recordPositions, responderSelf, setStatus } from './responders.service.js';
import {
  CandidatesQuery, CandidatesResult, ListQuery, PositionsBody, PositionsResult, ResponderCollection, ResponderSelf, StatusBody,
} from './responders.schemas.js';

/**
 * Responders (the signed-in worker's own record, status and positions; the scoped list) and the
 * nearest-responder candidates of an incident (GET /api/incidents/{id}/candidates — under the
 * incidents path, built on the responders' positions and the road graph).
 */
const respondersRoutes: FastifyPluginAsyncTypebox<{ command?: Partial<CommandConfig> }> = async (app, opts) => {
  const cfg: CommandConfig = { ...DEFAULT_COMMAND_CONFIG, ...opts.command };
  const writes: WriteDeps = { db: app.db, live: app.live };
  const service = new CandidatesService({ pool: app.pool, db: app.db }, cfg, app.databaseMode === 'external');
  if (cfg.warmGraphOnStart) {
    // The city's graph takes seconds to build: start it now rather than in the first dispatcher's request.
    app.addHook('onReady', async () => {
      void service.graphs.get().catch((err: Error) => app.log.warn({ err }, 'road graph warm-up failed; built on first use'));
    });
  }

  function myResponder(request: FastifyRequest): string {
    const id = request.user!.responderId;
    if (!id) throw new ApiError(403, 'NO_RESPONDER', 'this account has no responder record (only grid workers and accounts linked to one have)');
    return id;
  }

  app.get(
    '/api/responders/me',
    {
      config: { permission: 'responder.self' },
      schema: { tags: ['responders'], summary: 'My responder record: status, presence, position', response: { 200: ResponderSelf } },
    },
    async (request) => responderSelf(writes, myResponder(request), cfg),
  );

  app.put(
    '/api/responders/me/status',
    {
      config: { permission: 'responder.self' },
      schema: { tags: ['responders'], summary: 'Set my status (available, busy, off duty)', body: StatusBody, response: { 200: ResponderSelf } },
    },
    async (request) => setStatus(writes, myResponder(request), request.body.status, cfg),
  );

  app.post(
    '/api/responders/me/positions',
    {
      config: { permission: 'responder.self' },
      schema: {
        tags: ['responders'],
        summary: 'Send a batch of positions (1–500); bad points are rejected one by one, the rest stored',
        body: PositionsBody,
        response: { 200: PositionsResult },
      },
    },
    async (request) => (await recordPositions(writes, myResponder(request), request.body.positions)).body,
  );

  app.get(
    '/api/responders',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['responders'],
        summary: 'Responders of my area with status and presence',
        querystring: ListQuery,
        response: { 200: ResponderCollection },
      },
    },
    async (request) => {
      const q = request.query;
      return listResponders(app.db, {
        areaCode: request.user!.areaCode,
        status: q.status?.split(','),
        // The schema's pattern admits only presences.
        presence: q.presence?.split(',') as Presence[] | undefined,
        limit: q.limit,
        offset: q.offset,
      }, cfg);
    },
  );

  app.get(
    '/api/incidents/:id/candidates',
    {
      config: { permission: 'incident.dispatch', validation: { paramsNotFound: true } },
      schema: {
        tags: ['incidents'],
        summary: 'Available responders ranked by travel time with the responsibility ladder',
        params: IdParams,
        querystring: CandidatesQuery,
        response: { 200: CandidatesResult },
      },
    },
    async (request, reply) => {
      const { k, routes } = request.query;
      // The range here, not in the schema: out of range is VALIDATION_FAILED, a non-integer (schema) INVALID_PARAMETER.
      if (!Number.isInteger(k) || k < 1 || k > 20) throw new ApiError(400, 'VALIDATION_FAILED', `k must be an integer from 1 to 20, got ${k}`);
      const id = request.params.id;
      const lang = /^en/i.test(request.headers['accept-language'] ?? '') ? 'en' : 'zh';
      const answer = await service.candidates(id, { k, routes, lang, scope: request.user!.areaCode });
      if (!answer) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
      const t = answer.timing;
      reply.header('Server-Timing', `sql;dur=${t.sqlMs.toFixed(2)}, graph;dur=${t.graphMs.toFixed(2)}${t.graphBuilt ? ';desc="built"' : ''}, rank;dur=${t.rankMs.toFixed(2)}`);
      reply.header('Content-Language', lang === 'en' ? 'en' : 'zh-CN');
      return answer.result;
    },
  );
};

export default respondersRoutes;
