import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { StreamOwner } from '../../live/stream.js';
import { ApiError } from '../../plugins/errors.js';

/** A live event id: digits, at most 2^53 - 1 (ids are transaction ids × 1000 + n; live/events.ts). */
const EVENT_ID = /^[0-9]{1,16}$/;

/**
 * GET /api/live: Server-Sent Events of the user's area, and of the incidents assigned to the user's
 * responder or department (hub: server/src/live/hub.ts; the rule: auth/scope.ts eventVisible). The
 * reply is hijacked and written on the raw response, so no onSend hook (compression) buffers it.
 */
const liveRoutes: FastifyPluginAsyncTypebox<{ command?: unknown }> = async (app) => {
  app.get(
    '/api/live',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['live'],
        summary: 'Live events (Server-Sent Events)',
        description:
          'text/event-stream. Each event: `id` (live event id), `event` (incident.created, incident.updated, responder.moved, ' +
          'responder.status), `data` (JSON: the event data plus type, entityId, at). Reconnect with the Last-Event-ID header ' +
          '(or ?lastEventId=) to replay what was missed, in order, then continue live; an id no longer kept (7 days) gets ' +
          '`event: reset`. A new connection (no Last-Event-ID) may ask for its opening history with ?recent=N&recentSeconds=S: ' +
          'the newest incident events of the last S seconds it may see, at most N, oldest first, each with `recent: true` in its data, ' +
          'then the position and the live events. A heartbeat comment every 15 s; only events of the user\'s area, and of the incidents assigned to the ' +
          'user\'s responder or department (a responder who loses an assignment gets that one event); the stream ends when the session does.',
        querystring: Type.Object({
          lastEventId: Type.Optional(Type.String({ maxLength: 40, description: 'for clients that cannot send the Last-Event-ID header' })),
          recent: Type.Integer({ minimum: 0, maximum: 200, default: 0, description: 'a new connection\'s opening history: at most this many incident events (ignored on a resume)' }),
          recentSeconds: Type.Integer({ minimum: 60, maximum: 86_400, default: 7200, description: 'how far back the opening history reaches' }),
        }),
        headers: Type.Object({
          'last-event-id': Type.Optional(Type.String({ maxLength: 40 })),
        }),
        response: {
          200: {
            description: 'the event stream',
            content: { 'text/event-stream': { schema: Type.String() } },
          },
        },
      },
    },
    async (request, reply) => {
      // The header wins: EventSource reconnects to the same URL and sends its newest id there.
      const raw = request.headers['last-event-id'] || request.query.lastEventId;
      let lastEventId: number | undefined;
      if (raw !== undefined && raw !== '') {
        if (!EVENT_ID.test(raw) || !Number.isSafeInteger(Number(raw))) throw new ApiError(400, 'INVALID_PARAMETER', 'Last-Event-ID must be a live event id (digits)');
        lastEventId = Number(raw);
      }
      const user = request.user!;
      const owner: StreamOwner = {
        id: user.id, sessionId: user.sessionId, role: user.role, areaCode: user.areaCode,
        responderId: user.responderId, departmentCode: user.departmentCode,
      };
      const hub = app.liveHub;
      await hub.position();
      // A new client starts now: after what the hub is still fetching (a replaying one starts at its id).
      if (lastEventId === undefined) await hub.settle();
      const refusal = hub.refusal(owner);
      if (refusal) throw new ApiError(429, 'RATE_LIMITED', refusal, { retryAfterSeconds: 30 });

      const res = reply.raw;
      const stream = hub.open(owner, res);
      reply.hijack();
      res.on('close', () => stream.close());
      request.raw.socket.setTimeout(0);
      request.raw.socket.setNoDelay(true);
      res.writeHead(200, {
        ...(reply.getHeaders() as Record<string, string>),
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        'x-accel-buffering': 'no',
        connection: 'keep-alive',
      });
      try {
        await hub.attach(stream, lastEventId, { limit: request.query.recent, seconds: request.query.recentSeconds });
      } catch (err) {
        // Database away while reading the replay: end; the client retries with the same id.
        request.log.warn({ err }, 'live: replay failed; closing the stream');
        stream.close();
      }
    },
  );
};
export default liveRoutes;
