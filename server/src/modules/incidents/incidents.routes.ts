/**
 * Incidents (docs/command-centre-api.md, "Lifecycle" and "Incidents"): categories and departments,
 * intake with idempotency, the scoped list, stats and detail, transitions and dispatch, photos,
 * and the minute timer that escalates overdue incidents. The candidates endpoint lives elsewhere.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyError, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DEFAULT_COMMAND_CONFIG, type CommandConfig } from '../../config.js';
import { ApiError } from '../../plugins/errors.js';
import { withTransaction } from '../../db/transaction.js';
import { publishEvents, type LiveEventInput } from '../../live/publish.js';
import { appendAudit } from '../../auth/audit.js';
import { can } from '../../auth/permissions.js';
import { incidentError } from './incidents.errors.js';
import { idempotent, purgeExpiredKeys } from './incidents.idempotency.js';
import { escalateOverdue } from './incidents.escalation.js';
import { applyTransition, type TransitionInput } from './incidents.transitions.js';
import photosRoutes from './incidents.photos.js';
import {
  actorName, checkPlace, getIncidentRow, incidentDetail, incidentStats, isPriority, isStatus, listCategories, listDepartments,
  listIncidents, possibleDuplicates, toFeature, UUID_RE, viewerOf, type Viewer,
} from './incidents.repository.js';
import {
  Category, CreateIncidentBody, Department, DispatchBody, IdempotencyHeaders, IdParams, IncidentCollection, IncidentFeature,
  ListQuery, Stats, TransitionBody,
} from './incidents.schemas.js';

/** How often overdue incidents are escalated (and expired idempotency keys purged). */
export const ESCALATION_INTERVAL_MS = 60_000;

const NUL = /\u0000/;

/** Validation failures of this module's routes, with the contract's codes. */
function validationError(error: FastifyError & { validationContext?: string }): ApiError {
  const v = error.validation?.[0] as { instancePath?: string; params?: { missingProperty?: string } } | undefined;
  const where = (v?.instancePath || '').replace(/^\//, '') || v?.params?.missingProperty || '';
  const context = error.validationContext ?? 'request';
  const detail = `${context}${where ? ` "${where}"` : ''}: ${error.message.replace(/^(querystring|params|body|headers)\/?\S*\s/, '')}`;
  if (context === 'params') return new ApiError(404, 'NOT_FOUND', detail);
  if (context === 'querystring' && where === 'limit') return new ApiError(400, 'INVALID_LIMIT', detail);
  if (context === 'body' && (v?.instancePath ?? '').startsWith('/location')) return new ApiError(400, 'INVALID_GEOMETRY', detail);
  return incidentError(400, 'VALIDATION_FAILED', detail);
}

function assertText(fields: Record<string, string | undefined>) {
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && NUL.test(value)) throw incidentError(400, 'VALIDATION_FAILED', `${name} must not contain NUL characters`);
  }
}

const incidentsRoutes: FastifyPluginAsyncTypebox<{ command?: Partial<CommandConfig> }> = async (app, opts) => {
  const command: CommandConfig = { ...DEFAULT_COMMAND_CONFIG, ...opts.command };

  // Bad input is answered with this module's codes (VALIDATION_FAILED, INVALID_GEOMETRY, …).
  app.addHook('onRoute', (route) => {
    route.attachValidation = true;
  });
  app.addHook('preHandler', async (request) => {
    if (request.validationError) throw validationError(request.validationError as FastifyError & { validationContext?: string });
  });

  const viewer = (request: FastifyRequest) => viewerOf(app.pool, request.user!);
  const idempotencyKey = (request: FastifyRequest) => {
    const key = request.headers['idempotency-key'];
    return typeof key === 'string' ? key : undefined;
  };

  app.get(
    '/api/incident-categories',
    {
      config: { permission: 'map.read' },
      schema: { tags: ['incidents'], summary: 'Incident categories with their departments and time limits (minutes per status)', response: { 200: Type.Object({ categories: Type.Array(Category) }) } },
    },
    async () => ({ categories: await listCategories(app.pool) }),
  );

  app.get(
    '/api/departments',
    {
      config: { permission: 'map.read' },
      schema: { tags: ['incidents'], summary: 'Departments that receive dispatched incidents', response: { 200: Type.Object({ departments: Type.Array(Department) }) } },
    },
    async () => ({ departments: await listDepartments(app.pool) }),
  );

  app.post(
    '/api/incidents',
    {
      config: { permission: 'incident.report' },
      schema: {
        tags: ['incidents'],
        summary: 'Report an incident at a point; the grid holding it is assigned (Idempotency-Key honoured)',
        headers: IdempotencyHeaders,
        body: CreateIncidentBody,
        response: { 201: IncidentFeature },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const [lon, lat] = b.location.coordinates;
      if (!Number.isFinite(lon) || !Number.isFinite(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90) {
        throw new ApiError(400, 'INVALID_GEOMETRY', 'location: coordinates must be finite [lon, lat] with lon in −180…180 and lat in −90…90');
      }
      assertText({ category: b.category, description: b.description, address: b.address, reporterContact: b.reporterContact });
      if (!b.description.trim()) throw incidentError(400, 'VALIDATION_FAILED', 'description must not be blank');
      const v = await viewer(request);
      const key = idempotencyKey(request);
      const result = await withTransaction(app.pool, async (client) => {
        let event: LiveEventInput | undefined;
        const answer = await idempotent(client, v.id, key, 'POST /api/incidents', b, async () => {
          const place = await checkPlace(client, b.category, lon, lat);
          if (!place.categoryKnown) throw incidentError(422, 'UNKNOWN_CATEGORY', `no incident category "${b.category}"; see GET /api/incident-categories`);
          if (!place.gridId || !place.gridCode) throw incidentError(422, 'OUTSIDE_ALL_GRIDS', `the point ${lon}, ${lat} lies outside every grid`);
          if (v.areaCode !== '*' && !place.gridCode.startsWith(v.areaCode)) {
            throw incidentError(403, 'OUT_OF_SCOPE', `the point lies in grid ${place.gridCode}, outside your area ${v.areaCode}`, { gridCode: place.gridCode });
          }
          const { rows } = await client.query<{ id: string; district_id: string | null; reported_at: Date }>(
            `INSERT INTO incidents (grid_id, category, priority, status, location, address, description, reporter_contact,
                                    near_border, near_grid_ids, reported_by, status_since, reported_at)
             VALUES ($1::uuid, $2, $3, 'reported', ST_SetSRID(ST_MakePoint($4::float8, $5::float8), 4326), $6, $7, $8,
                     cardinality($9::uuid[]) > 0, $9::uuid[], $10::uuid, now(), now())
             RETURNING id::text, district_id::text, reported_at`,
            [place.gridId, b.category, b.priority ?? 'normal', lon, lat, b.address ?? null, b.description, b.reporterContact ?? null, place.nearGridIds, v.id],
          );
          const inc = rows[0];
          await client.query(
            `INSERT INTO incident_transitions (incident_id, district_id, action, from_status, to_status, actor_id, actor_name)
             VALUES ($1, $2, 'report', NULL, 'reported', $3, $4)`,
            [inc.id, inc.district_id, v.id, actorName(v)],
          );
          const [row, duplicates] = await Promise.all([
            getIncidentRow(client, inc.id, { ...v, areaCode: '*' }),
            possibleDuplicates(client, inc.id, b.category, lon, lat, v),
          ]);
          const f = toFeature(row!, v);
          event = {
            type: 'incident.created',
            entityId: inc.id,
            scopeCode: place.gridCode,
            districtId: inc.district_id,
            data: { incidentId: inc.id, status: 'reported', priority: f.properties.priority, category: b.category, gridCode: place.gridCode, lon, lat, reportedAt: f.properties.reportedAt },
          };
          return { status: 201, body: { ...f, properties: { ...f.properties, possibleDuplicates: duplicates } } };
        });
        if (!answer.replayed) await publishEvents(client, [event!]);
        return answer;
      });
      if (!result.replayed) app.live.wake();
      if (result.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(result.status as 201).header('Location', `/api/incidents/${result.body.id}`).send(result.body as never);
    },
  );

  app.get(
    '/api/incidents',
    {
      config: { permission: 'map.read' },
      schema: { tags: ['incidents'], summary: 'Incidents in your area: filtered, sorted, paged', querystring: ListQuery, response: { 200: IncidentCollection } },
    },
    async (request) => {
      const q = request.query;
      const list = (s: string | undefined) => (s === undefined ? undefined : s.split(',').map((x) => x.trim()).filter(Boolean));
      const status = list(q.status);
      const bad = status?.find((s) => !isStatus(s));
      if (bad) throw incidentError(400, 'VALIDATION_FAILED', `unknown status "${bad}"`);
      const priority = list(q.priority);
      const badP = priority?.find((p) => !isPriority(p));
      if (badP) throw incidentError(400, 'VALIDATION_FAILED', `unknown priority "${badP}"`);
      const time = (name: string, s: string | undefined) => {
        if (s === undefined) return undefined;
        const d = new Date(s);
        if (Number.isNaN(d.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(s)) throw incidentError(400, 'VALIDATION_FAILED', `${name} must be an ISO 8601 time`);
        return d;
      };
      assertText({ q: q.q, category: q.category });
      return listIncidents(app.pool, await viewer(request), {
        status, priority, category: q.category, gridCode: q.gridCode, overdue: q.overdue, escalated: q.escalated,
        from: time('from', q.from), to: time('to', q.to), q: q.q, assignedToMe: q.assignedToMe, department: q.department,
        sort: q.sort, limit: q.limit, offset: q.offset,
      });
    },
  );

  app.get(
    '/api/incidents/stats',
    {
      config: { permission: 'map.read' },
      schema: { tags: ['incidents'], summary: 'Counts of incidents in your area: open, overdue, urgent open, escalated, by status', response: { 200: Stats } },
    },
    async (request) => incidentStats(app.pool, await viewer(request)),
  );

  app.get(
    '/api/incidents/:id',
    {
      config: { permission: 'map.read' },
      schema: {
        tags: ['incidents'],
        summary: 'One incident with its timeline and photos (reporter contact for incident.sensitive, audited)',
        params: IdParams,
        response: { 200: IncidentFeature },
      },
    },
    async (request) => {
      const { id } = request.params;
      const v = await viewer(request);
      const detail = await incidentDetail(app.pool, id, v);
      if (!detail) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
      if (!can(v.role, 'incident.sensitive')) return detail;
      const { rows } = await app.pool.query<{ c: string | null }>('SELECT reporter_contact AS c FROM incidents WHERE id = $1', [id]);
      const contact = rows[0]?.c ?? null;
      if (contact !== null) {
        await appendAudit(app.pool, { user: request.user, ip: request.ip, requestId: request.id }, {
          action: 'incident.read_contact', entity: 'incident', entityId: id,
        });
      }
      return { ...detail, properties: { ...detail.properties, reporterContact: contact } };
    },
  );

  /** A lifecycle step in one transaction, idempotent under a key; answers the incident with its timeline. */
  async function transition(request: FastifyRequest, id: string, input: TransitionInput, route: string, body: unknown) {
    if (!UUID_RE.test(id)) throw new ApiError(404, 'NOT_FOUND', `no incident "${id}"`);
    assertText({ note: input.note });
    const v: Viewer = await viewer(request);
    const result = await withTransaction(app.pool, async (client) => {
      let events: LiveEventInput[] = [];
      const answer = await idempotent(client, v.id, idempotencyKey(request), route, body, async () => {
        const r = await applyTransition(client, v, id, input, { offlineSeconds: command.offlineSeconds });
        events = r.events;
        const detail = await incidentDetail(client, id, v) ?? await incidentDetail(client, id, { ...v, areaCode: '*' });
        return { status: 200, body: detail! };
      });
      if (!answer.replayed) await publishEvents(client, events);
      return answer;
    });
    if (!result.replayed) app.live.wake();
    return result;
  }

  app.post(
    '/api/incidents/:id/transitions',
    {
      config: { permission: 'incident.handle' },
      schema: {
        tags: ['incidents'],
        summary: 'Take a lifecycle action (accept, dispatch, start, resolve, reject, verify, close, reopen)',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: TransitionBody,
        response: { 200: IncidentFeature },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const result = await transition(request, id, request.body, `POST /api/incidents/${id}/transitions`, request.body);
      if (result.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(result.status as 200).send(result.body as never);
    },
  );

  app.post(
    '/api/incidents/:id/dispatch',
    {
      config: { permission: 'incident.dispatch' },
      schema: {
        tags: ['incidents'],
        summary: 'Dispatch to a responder (claimed: exactly one of racing dispatchers wins) or to a department',
        params: IdParams,
        headers: IdempotencyHeaders,
        body: DispatchBody,
        response: { 200: IncidentFeature },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const b = request.body;
      const result = await transition(request, id, { action: 'dispatch', ...b }, `POST /api/incidents/${id}/dispatch`, b);
      if (result.replayed) reply.header('Idempotent-Replayed', 'true');
      return reply.code(result.status as 200).send(result.body as never);
    },
  );

  await app.register(photosRoutes, { command });

  // 督办: every minute, escalate overdue incidents (one API process at a time) and purge old idempotency keys.
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running ??= round().finally(() => {
      running = undefined;
    });
  };
  const round = async () => {
    try {
      const round = await escalateOverdue(app.pool);
      if (round.escalated.length) app.live.wake();
      await purgeExpiredKeys(app.pool);
    } catch (err) {
      app.log.warn({ err }, 'escalation round failed');
    }
  };
  app.addHook('onReady', async () => {
    timer = setInterval(tick, ESCALATION_INTERVAL_MS);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    if (timer) clearInterval(timer);
    await running;
  });
};

export default incidentsRoutes;
