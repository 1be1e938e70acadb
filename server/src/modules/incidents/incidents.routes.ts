/**
 * Incidents (docs/command-centre-api.md, "Lifecycle" and "Incidents"): categories and departments,
 * intake, the list, stats and detail, transitions and dispatch, and photos (photos.routes.ts).
 * Each route is its schema and one call; the work is in incidents.service.ts and the repositories.
 * The candidates endpoint lives with the responders; the escalation timer in plugins/timers.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { DEFAULT_COMMAND_CONFIG, type CommandConfig } from '../../config.js';
import { IdParams } from '../../lib/schemas.js';
import { idempotencyKey, sendAnswer } from '../../write/http.js';
import photosRoutes from './photos.routes.js';
import { incidentStats, listCategories, listDepartments } from './incidents.repository.js';
import { changeCategory } from './categories.service.js';
import { auditOf } from '../audit/audit.repository.js';
import { incidentDetailFor, listIncidentsFor, reportIncident, transitionIncident, type IncidentsDeps } from './incidents.service.js';
import {
  Category, CategoryChange, CreateIncidentBody, Department, DispatchBody, IdempotencyHeaders, INCIDENT_VALIDATION, IncidentCollection, IncidentFeature, ListQuery,
  Stats, TransitionBody,
} from './incidents.schemas.js';

const incidentsRoutes: FastifyPluginAsyncTypebox<{ command?: Partial<CommandConfig> }> = async (app, opts) => {
  const command: CommandConfig = { ...DEFAULT_COMMAND_CONFIG, ...opts.command };
  const deps: IncidentsDeps = { db: app.db, live: app.live, command };
  const config = { permission: 'map.read', validation: INCIDENT_VALIDATION } as const;

  app.get(
    '/api/incident-categories',
    {
      config,
      schema: { tags: ['incidents'], summary: 'Incident categories with their departments, step limits (minutes per status) and overall limits', response: { 200: Type.Object({ categories: Type.Array(Category) }) } },
    },
    async () => ({ categories: await listCategories(app.db) }),
  );

  app.patch(
    '/api/incident-categories/:code',
    {
      config: { permission: 'category.manage', validation: { paramsNotFound: true } },
      schema: {
        tags: ['incidents'],
        summary: 'Change a category (whether resolving needs a photo); admins of the whole installation; audited',
        params: Type.Object({ code: Type.String({ pattern: '^[a-z_]{1,40}$' }) }),
        body: CategoryChange,
        response: { 200: Category },
      },
    },
    async (request) =>
      changeCategory(app.db, { user: request.user!, ip: request.ip, requestId: request.id }, request.params.code, request.body),
  );

  app.get(
    '/api/departments',
    {
      config,
      schema: { tags: ['incidents'], summary: 'Departments that receive dispatched incidents', response: { 200: Type.Object({ departments: Type.Array(Department) }) } },
    },
    async () => ({ departments: await listDepartments(app.db) }),
  );

  app.post(
    '/api/incidents',
    {
      config: { permission: 'incident.report', validation: { ...INCIDENT_VALIDATION, geometry: ['/location'] } },
      schema: {
        tags: ['incidents'],
        summary: 'Report an incident at a point; the grid holding it is assigned (Idempotency-Key honoured)',
        headers: IdempotencyHeaders,
        body: CreateIncidentBody,
        response: { 201: IncidentFeature },
      },
    },
    async (request, reply) => {
      const answer = await reportIncident(deps, request.user!, request.body, idempotencyKey(request));
      return sendAnswer(reply.header('Location', `/api/incidents/${answer.body.id}`), answer);
    },
  );

  app.get(
    '/api/incidents',
    {
      config,
      schema: { tags: ['incidents'], summary: 'Incidents in your area and assigned to you: filtered, sorted, paged', querystring: ListQuery, response: { 200: IncidentCollection } },
    },
    async (request) => listIncidentsFor(app.db, request.user!, request.query),
  );

  app.get(
    '/api/incidents/stats',
    {
      config,
      schema: { tags: ['incidents'], summary: 'Counts of incidents in your area: open, overdue, urgent open, escalated, by status', response: { 200: Stats } },
    },
    async (request) => incidentStats(app.db, request.user!),
  );

  app.get(
    '/api/incidents/:id',
    {
      config,
      schema: {
        tags: ['incidents'],
        summary: 'One incident with its timeline and photos (reporter contact for incident.sensitive, audited)',
        params: IdParams,
        response: { 200: IncidentFeature },
      },
    },
    async (request) => incidentDetailFor(app.db, request.user!, request.params.id, auditOf(request)),
  );

  app.post(
    '/api/incidents/:id/transitions',
    {
      config: { permission: 'incident.handle', validation: INCIDENT_VALIDATION },
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
      const route = `POST /api/incidents/${id}/transitions`;
      return sendAnswer(reply, await transitionIncident(deps, request.user!, id, request.body, { key: idempotencyKey(request), route, body: request.body }, auditOf(request)));
    },
  );

  app.post(
    '/api/incidents/:id/dispatch',
    {
      config: { permission: 'incident.dispatch', validation: INCIDENT_VALIDATION },
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
      const route = `POST /api/incidents/${id}/dispatch`;
      return sendAnswer(reply, await transitionIncident(deps, request.user!, id, { action: 'dispatch', ...b }, { key: idempotencyKey(request), route, body: b }, auditOf(request)));
    },
  );

  await app.register(photosRoutes, { deps });
};

export default incidentsRoutes;
