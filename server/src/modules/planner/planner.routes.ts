/**
 * The grid planner (issue 13): the communities of the area and one to draw on (the planner's
 * screen), checking a proposal (validate, impact) and the communities' dated versions (list, one,
 * publish). The work is in planner.service.ts.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { ApiError } from '../../plugins/errors.js';
import { auditOf } from '../audit/audit.repository.js';
import { idempotencyKey, sendAnswer } from '../../write/http.js';
import { IdempotencyHeaders } from '../incidents/incidents.schemas.js';
import {
  communitiesFor, communityDetail, communityVersion, communityVersions, createDraft, versionsDiff, planSettings, setPlanSettings, deleteDraftFor, draftFor, draftsFor, importDraftFor, planImpact, publishPlan, rebalancePlan, saveDraftFor, validatePlan,
} from './planner.service.js';
import {
  CommunityDetail, CommunityList, CommunityListQuery, CommunityParams, DiffAnswer, DiffParams, Draft, DraftImportAnswer, DraftImportForm, DraftList, DraftQuery, DraftSaveBody, ImpactAnswer, ImpactBody, NewDraftBody, PLANNER_VALIDATION, PlanGrids, ProposalBody,
  PlanSettings, PlanSettingsAnswer, PublishBody, RebalanceAnswer, ValidateAnswer, VersionList, VersionParams,
} from './planner.schemas.js';
import { IdParams } from '../../lib/schemas.js';
import { Type } from 'typebox';
import { MAX_IMPORT_BYTES } from './planner.import.js';
import type { DraftImport } from './planner.service.js';

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

  app.post(
    '/api/planner/rebalance',
    {
      bodyLimit: PLAN_BODY_LIMIT,
      config: { permission: 'grid.plan.read', validation: PLANNER_VALIDATION },
      schema: { tags: ['planner'], summary: 'The rebalancing assistant: a split along a street for each grid above the household bound, merges of small neighbours', body: ProposalBody, response: { 200: RebalanceAnswer } },
    },
    async (request) => rebalancePlan(app.db, request.user!, request.body.communityCode, request.body.grids),
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

  await app.register(draftImportRoutes);

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

/** The import form's fields besides `file`. */
const IMPORT_FIELDS = ['crs', 'codeField', 'nameField', 'expectedRevision'] as const;
type ImportField = (typeof IMPORT_FIELDS)[number];
/** What the parts besides the file may add to a declared length (fields, part headers, boundaries). */
const FORM_OVERHEAD = 64 * 1024;

/**
 * POST /api/planner/drafts/{id}/import in a context of its own: the only route that takes
 * multipart/form-data (@fastify/multipart, one file of at most 20 MB and a few small fields);
 * every other Content-Type is 415 here.
 */
const draftImportRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.removeAllContentTypeParsers();
  await app.register(multipart, {
    limits: { files: 1, fileSize: MAX_IMPORT_BYTES, fields: IMPORT_FIELDS.length, fieldSize: 1024, fieldNameSize: 100, parts: IMPORT_FIELDS.length + 1, headerPairs: 50 },
  });

  app.post(
    '/api/planner/drafts/:id/import',
    {
      config: {
        permission: 'grid.plan.write',
        validation: PLANNER_VALIDATION,
        // The form in the API document; Fastify itself validates no body here (the handler reads the parts).
        swaggerTransform: ({ schema, url }) => ({ schema: { ...schema, body: DraftImportForm, consumes: ['multipart/form-data'] } as typeof schema, url }),
      },
      // A declared length over the limit is refused before the body is read.
      onRequest: async (request) => {
        const length = Number(request.headers['content-length'] ?? 0);
        if (length > MAX_IMPORT_BYTES + FORM_OVERHEAD) throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the file may have at most ${MAX_IMPORT_BYTES} bytes`);
      },
      schema: {
        tags: ['planner'],
        summary: 'Load the draft\'s grids from a GeoJSON file or a zipped Shapefile (multipart/form-data; one undoable edit; audited)',
        consumes: ['multipart/form-data'],
        params: IdParams,
        response: { 200: DraftImportAnswer },
      },
    },
    async (request) => importDraftFor(app.db, request.user!, request.params.id, await importForm(request), auditOf(request)),
  );
};

/** The import's form: the file and the fields (an empty field counts as not given); 400/413 for what is wrong with it. */
async function importForm(request: FastifyRequest): Promise<DraftImport> {
  if (!request.isMultipart()) {
    throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send multipart/form-data: the file as the part "file", and optionally the fields crs, codeField, nameField, expectedRevision');
  }
  let file: { bytes: Buffer; filename: string } | undefined;
  const fields: Partial<Record<ImportField, string>> = {};
  // The first thing wrong; the parts are read to the end all the same (the client is still sending them).
  let wrong: ApiError | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        const bytes = await part.toBuffer();
        if (part.fieldname === 'file') file = { bytes, filename: part.filename };
        else wrong ??= new ApiError(400, 'INVALID_PARAMETER', `unknown part "${part.fieldname}": the file goes in the part "file"`, { parameter: part.fieldname });
        continue;
      }
      const name = part.fieldname as ImportField;
      if (!IMPORT_FIELDS.includes(name)) {
        wrong ??= new ApiError(400, 'INVALID_PARAMETER', `unknown field "${part.fieldname}": the form has file, ${IMPORT_FIELDS.join(', ')}`, { parameter: part.fieldname });
      } else if (part.valueTruncated) {
        wrong ??= new ApiError(400, 'INVALID_PARAMETER', `the field ${name} is too long`, { parameter: name });
      } else if (fields[name] !== undefined) {
        wrong ??= new ApiError(400, 'INVALID_PARAMETER', `the field ${name} is given twice`, { parameter: name });
      } else {
        fields[name] = String(part.value);
      }
    }
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new ApiError(413, 'PAYLOAD_TOO_LARGE', `the file may have at most ${MAX_IMPORT_BYTES} bytes`);
    if (code === 'FST_FILES_LIMIT') throw new ApiError(400, 'INVALID_PARAMETER', 'send one file', { parameter: 'file' });
    if (code === 'FST_FIELDS_LIMIT' || code === 'FST_PARTS_LIMIT') throw new ApiError(400, 'INVALID_PARAMETER', `too many fields: the form has file, ${IMPORT_FIELDS.join(', ')}`);
    const status = (err as { statusCode?: unknown }).statusCode;
    // The rest is the body's fault (busboy: a malformed multipart body; a field named like a prototype property).
    if (status === undefined || (typeof status === 'number' && status < 500)) {
      throw new ApiError(400, 'INVALID_PARAMETER', `the multipart body cannot be read (${err instanceof Error ? err.message : String(err)})`);
    }
    throw err;
  }
  if (wrong) throw wrong;
  if (!file) throw new ApiError(400, 'INVALID_PARAMETER', 'no file: send it as the part "file"', { parameter: 'file' });
  const given = (name: ImportField) => (fields[name]?.trim() ? fields[name] : undefined);
  let expectedRevision: number | undefined;
  const revision = given('expectedRevision')?.trim();
  if (revision !== undefined) {
    expectedRevision = /^[0-9]{1,10}$/.test(revision) ? Number(revision) : NaN;
    if (!(expectedRevision >= 1 && expectedRevision <= 2_147_483_647)) {
      throw new ApiError(400, 'INVALID_PARAMETER', `expectedRevision must be a whole number from 1, not ${JSON.stringify(revision)}`, { parameter: 'expectedRevision' });
    }
  }
  return { bytes: file.bytes, filename: file.filename, crs: given('crs'), codeField: given('codeField'), nameField: given('nameField'), expectedRevision };
}

export default plannerRoutes;
