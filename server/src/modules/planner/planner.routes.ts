/**
 * The grid planner (issue 13): the communities of the area and one to draw on (the planner's
 * screen), checking a proposal (validate, impact) and the communities' dated versions (list, one,
 * publish). The work is in planner.service.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditOf } from '../audit/audit.repository.js';
import { idempotencyKey, sendAnswer } from '../../write/http.js';
import { IdempotencyHeaders } from '../incidents/incidents.schemas.js';
import {
  communitiesFor, communityDetail, communityVersion, communityVersions, createDraft, versionsDiff, planSettings, setPlanSettings, deleteDraftFor, draftFor, draftsFor, planImpact, publishPlan, saveDraftFor, validatePlan,
} from './planner.service.js';
import {
  CommunityDetail, CommunityList, CommunityListQuery, CommunityParams, DiffAnswer, DiffParams, Draft, DraftList, DraftQuery, DraftSaveBody, ImpactAnswer, ImpactBody, NewDraftBody, PLANNER_VALIDATION, PlanGrids, ProposalBody,
  PlanSettings, PlanSettingsAnswer, PublishBody, ValidateAnswer, VersionList, VersionParams,
} from './planner.schemas.js';
import { IdParams } from '../../lib/schemas.js';
import { Type } from 'typebox';

/** A plan's grids in detail can be large: its own body limit. */
const PLAN_BODY_LIMIT = 8 * 1024 * 1024;

const plannerRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.post(
    '/api/planner/validate',
    {
      bodyLimit: PLAN_BODY_LIMIT,
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'Every issue of a community\'s proposed grids (gaps, overlaps, outside, slivers, sizes, households, codes), with places and fixes', body: ProposalBody, response: { 200: ValidateAnswer } },
    },
    async (request) => validatePlan(app.db, request.user!, request.body.communityCode, request.body.grids),
  );

  app.post(
    '/api/planner/impact',
    {
      bodyLimit: PLAN_BODY_LIMIT,
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'What a proposal changes: per grid before and after, and each building, open incident, responder and account that changes grid', body: ImpactBody, response: { 200: ImpactAnswer } },
    },
    async (request) => planImpact(app.db, request.user!, request.body.communityCode, request.body.grids, request.body.successors),
  );

  // The planner's screen: the communities of the caller's area, and one community to draw on.
  app.get(
    '/api/planner/communities',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The communities of your area, by code: grids, buildings, households, open incidents and responders in force, latest version, whether you may change the plan', querystring: CommunityListQuery, response: { 200: CommunityList } },
    },
    async (request) => communitiesFor(app.db, request.user!, request.query),
  );

  app.get(
    '/api/planner/communities/:code',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'One community to draw on: boundary and bbox, the grids in force with what each holds, and the roads around it (clipped) as snapping guides', params: CommunityParams, response: { 200: CommunityDetail } },
    },
    async (request) => communityDetail(app.db, request.user!, request.params.code),
  );

  app.get(
    '/api/planner/communities/:code/versions',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The versions of a community\'s grid plan, oldest first', params: CommunityParams, response: { 200: VersionList } },
    },
    async (request) => communityVersions(app.db, request.user!, request.params.code),
  );

  app.get(
    '/api/planner/communities/:code/versions/:version',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The grids of one version (a FeatureCollection)', params: VersionParams, response: { 200: PlanGrids } },
    },
    async (request) => communityVersion(app.db, request.user!, request.params.code, request.params.version) as never,
  );

  app.get(
    '/api/planner/communities/:code/versions/:version/diff/:other',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'What changed between two versions, grid by grid (with the area that changed hands)', params: DiffParams, response: { 200: DiffAnswer } },
    },
    async (request) => versionsDiff(app.db, request.user!, request.params.code, request.params.version, request.params.other),
  );

  app.post(
    '/api/planner/communities/:code/versions',
    {
      bodyLimit: PLAN_BODY_LIMIT,
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: {
        tags: ['planner'],
        summary: 'Publish a version of the community\'s grids (from the latest: 409 VERSION_CONFLICT otherwise), in force now or from its date',
        params: CommunityParams,
        headers: IdempotencyHeaders,
        body: PublishBody,
        response: { 201: Type.Object({ version: Type.Integer(), effectiveFrom: Type.String(), applied: Type.Boolean() }) },
      },
    },
    async (request, reply) => {
      const { code } = request.params;
      const write = { key: idempotencyKey(request), route: `POST /api/planner/communities/${code}/versions`, body: request.body };
      return sendAnswer(reply, await publishPlan({ db: app.db, live: app.live }, request.user!, code, request.body, write, auditOf(request)));
    },
  );

  // The bounds validation applies (admins of the whole installation change them).
  app.get(
    '/api/planner/settings',
    {
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The bounds of validation: sizes, households, slivers, gap and overlap tolerance', response: { 200: PlanSettingsAnswer } },
    },
    async () => planSettings(app.db),
  );

  app.put(
    '/api/planner/settings',
    {
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'Set the bounds of validation (admins of the whole installation; audited)', body: PlanSettings, response: { 200: PlanSettingsAnswer } },
    },
    async (request) => setPlanSettings(app.db, request.user!, request.body, auditOf(request)),
  );

  // Drafts: a planner's work in progress, kept on the server (planners and admins of the area).
  app.post(
    '/api/planner/drafts',
    {
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'Start a draft from the community\'s latest version', body: NewDraftBody, response: { 201: Draft } },
    },
    async (request, reply) => reply.code(201).send(await createDraft(app.db, request.user!, request.body.communityCode)),
  );

  app.get(
    '/api/planner/drafts',
    {
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The drafts of the communities in your area, newest first', querystring: DraftQuery, response: { 200: DraftList } },
    },
    async (request) => draftsFor(app.db, request.user!, request.query),
  );

  app.get(
    '/api/planner/drafts/:id',
    {
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'One draft with its grids and undo/redo history', params: IdParams, response: { 200: Draft } },
    },
    async (request) => draftFor(app.db, request.user!, request.params.id),
  );

  app.put(
    '/api/planner/drafts/:id',
    {
      bodyLimit: PLAN_BODY_LIMIT,
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'Save a draft over the revision it was read at (409 VERSION_CONFLICT when stale)', params: IdParams, body: DraftSaveBody, response: { 200: Draft } },
    },
    async (request) => saveDraftFor(app.db, request.user!, request.params.id, request.body),
  );

  app.delete(
    '/api/planner/drafts/:id',
    {
      config: { permission: 'grid.plan.write', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'Delete a draft (its author or an admin; audited)', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await deleteDraftFor(app.db, request.user!, request.params.id, auditOf(request));
      return reply.code(204).send(null);
    },
  );
};

export default plannerRoutes;
