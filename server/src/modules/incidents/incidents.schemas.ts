import { Type } from 'typebox';
import { Nullable, Uuid } from '../../lib/schemas.js';
import type { ValidationHints } from '../../plugins/errors.js';
import { INCIDENT_ACTIONS, INCIDENT_STATUSES, MAX_EXTENSION_MINUTES, type IncidentAction, type IncidentStatus } from './lifecycle.js';

/** How this module answers bad input (the contract's codes): a malformed id is an unknown incident (route config `validation`). */
export const INCIDENT_VALIDATION: ValidationHints = { code: 'VALIDATION_FAILED', paramsNotFound: true };

export const PRIORITIES = ['low', 'normal', 'high', 'urgent'] as const;
export type Priority = (typeof PRIORITIES)[number];

export const LIST_MAX_LIMIT = 500;
export const LIST_DEFAULT_LIMIT = 50;
/** Photos waiting to be attached to a step, and photos per incident. */
export const MAX_PENDING_PHOTOS = 6;
export const MAX_PHOTOS_PER_INCIDENT = 24;
export const PHOTO_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

// Unions built from the lifecycle's lists; Unsafe gives them their static type (a union mapped from
// an array is `never` to TypeBox) without changing the JSON schema.
const Status = Type.Unsafe<IncidentStatus>(Type.Union(INCIDENT_STATUSES.map((s) => Type.Literal(s))));
const Action = Type.Unsafe<IncidentAction>(Type.Union(INCIDENT_ACTIONS.map((a) => Type.Literal(a))));
const PriorityT = Type.Unsafe<Priority>(Type.Union(PRIORITIES.map((p) => Type.Literal(p))));

export const PointGeometry = Type.Object(
  {
    type: Type.Literal('Point'),
    coordinates: Type.Array(Type.Number(), { minItems: 2, maxItems: 3, description: '[lon, lat] in EPSG:4326' }),
  },
  { additionalProperties: false },
);

const Ref = Type.Object({ id: Type.String(), name: Type.String() });
const GridRef = Type.Object({ id: Type.String(), code: Type.String(), name: Type.String() });

export const TimelineEntry = Type.Object({
  id: Type.String(),
  action: Type.String(),
  fromStatus: Nullable(Type.String()),
  toStatus: Type.String(),
  actor: Nullable(Ref),
  note: Nullable(Type.String()),
  responder: Nullable(Ref),
  departmentCode: Nullable(Type.String()),
  escalationLevel: Nullable(Type.Integer()),
  minutes: Nullable(Type.Integer({ description: '延期: the minutes asked for or granted' })),
  score: Nullable(Type.Integer({ description: '评价: the score given (1–5); the note is its comment' })),
  at: Type.String(),
  photoIds: Type.Array(Type.String()),
});

export const PhotoInfo = Type.Object({
  id: Type.String(),
  url: Type.String(),
  contentType: Type.String(),
  byteSize: Type.Integer(),
  transitionId: Nullable(Type.String()),
  createdAt: Type.String(),
});

export const Duplicate = Type.Object({
  id: Type.String(),
  status: Type.String(),
  description: Type.String(),
  reportedAt: Type.String(),
  distanceMetres: Type.Number(),
});

export const IncidentProperties = Type.Object({
  id: Type.String(),
  category: Type.String(),
  priority: Type.String(),
  status: Type.String(),
  statusSince: Type.String(),
  description: Type.String(),
  address: Nullable(Type.String()),
  gridId: Nullable(Type.String()),
  gridCode: Nullable(Type.String()),
  gridName: Nullable(Type.String()),
  communityName: Nullable(Type.String()),
  nearBorder: Type.Boolean(),
  nearGrids: Type.Array(GridRef),
  reportedAt: Type.String(),
  reportedBy: Nullable(Ref),
  assignee: Nullable(Type.Object({ responderId: Type.String(), name: Type.String() })),
  assigneeDepartment: Nullable(Type.String()),
  assignedAt: Nullable(Type.String()),
  escalationLevel: Type.Integer(),
  step: Nullable(Type.String({ description: 'the step the incident waits for, which names its step limit: accept (受理时限), dispatch (派遣时限), start (响应时限), resolve (处置时限), verify (核查时限), close (结案时限); null when closed' })),
  stepDueAt: Nullable(Type.String({ description: 'the step limit: the end of the current step (statusSince + the category\'s limit for the status); it restarts with every step, a reassignment included' })),
  dueAt: Nullable(Type.String({ description: 'the overall deadline: report time + the category\'s overall limit; it does not move on dispatch, reassignment, rejection or reopening' })),
  stepOverdue: Type.Boolean(),
  deadlineOverdue: Type.Boolean(),
  overdue: Type.Boolean({ description: 'stepOverdue or deadlineOverdue' }),
  extensionMinutes: Type.Integer({ description: '延期: minutes granted so far (included in dueAt)' }),
  pendingExtension: Nullable(Type.Object({ minutes: Type.Integer(), at: Type.String() }, { description: '延期 asked for and not yet answered' })),
  suspendedSince: Nullable(Type.String({ description: '挂起: since when; both clocks stand still meanwhile (stepDueAt and dueAt move on with the time), and resume is the only action' })),
  ratings: Type.Array(Type.Object({
    score: Type.Integer({ minimum: 1, maximum: 5 }),
    comment: Nullable(Type.String()),
    by: Nullable(Ref),
    at: Type.String(),
  }), { description: '评价: the ratings of the incident\'s closures, oldest first (one per closure)' }),
  closedAt: Nullable(Type.String()),
  version: Type.Integer(),
  photoCount: Type.Integer(),
  allowedActions: Type.Array(Type.String()),
  reporterContact: Type.Optional(Nullable(Type.String())),
  possibleDuplicates: Type.Optional(Type.Array(Duplicate)),
  timeline: Type.Optional(Type.Array(TimelineEntry)),
  photos: Type.Optional(Type.Array(PhotoInfo)),
});

export const IncidentFeature = Type.Object({
  type: Type.Literal('Feature'),
  id: Type.String(),
  geometry: Type.Object({ type: Type.Literal('Point'), coordinates: Type.Array(Type.Number()) }),
  properties: IncidentProperties,
});

export const IncidentCollection = Type.Object({
  type: Type.Literal('FeatureCollection'),
  features: Type.Array(IncidentFeature),
  numberMatched: Type.Integer(),
  numberReturned: Type.Integer(),
});

export const CreateIncidentBody = Type.Object(
  {
    category: Type.String({ minLength: 1, maxLength: 40 }),
    priority: Type.Optional(PriorityT),
    description: Type.String({ minLength: 1, maxLength: 2000 }),
    location: PointGeometry,
    address: Type.Optional(Type.String({ maxLength: 300 })),
    reporterContact: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

/** A dispatch of a dispatched incident replaces its assignee (改派): it must say so, with a note. */
const Reassign = Type.Boolean({ description: 'true to replace the current assignee (改派); required, with a note, when the incident is dispatched already' });

export const TransitionBody = Type.Object(
  {
    action: Action,
    note: Type.Optional(Type.String({ maxLength: 2000 })),
    photoIds: Type.Optional(Type.Array(Uuid, { maxItems: MAX_PENDING_PHOTOS })),
    responderId: Type.Optional(Uuid),
    departmentCode: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
    reassign: Type.Optional(Reassign),
    minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_EXTENSION_MINUTES, description: '延期: the minutes asked for (request_extension) or granted (approve_extension); required by those two, refused by the others' })),
    // Bounds checked by the step (422 INVALID_PARAMETER outside 1–5), not here (400).
    score: Type.Optional(Type.Integer({ minimum: -2_147_483_648, maximum: 2_147_483_647, description: '评价: the score, 1 (poor) … 5 (excellent); required by rate, refused by the others' })),
    comment: Type.Optional(Type.String({ maxLength: 2000, description: '评价: an optional comment with the score (rate only)' })),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false },
);

export const DispatchBody = Type.Object(
  {
    responderId: Type.Optional(Uuid),
    departmentCode: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
    reassign: Type.Optional(Reassign),
    note: Type.Optional(Type.String({ maxLength: 2000, description: 'required for a reassignment (the reason)' })),
    expectedVersion: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_147_483_647 })),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 200, description: 'comma-separated statuses' })),
  category: Type.Optional(Type.String({ maxLength: 40 })),
  priority: Type.Optional(Type.String({ maxLength: 100, description: 'comma-separated priorities' })),
  gridCode: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'grid code prefix' })),
  overdue: Type.Optional(Type.Boolean()),
  escalated: Type.Optional(Type.Boolean({ description: 'escalationLevel ≥ 1' })),
  suspended: Type.Optional(Type.Boolean({ description: 'suspended (挂起) or not' })),
  rated: Type.Optional(Type.Boolean({ description: 'closed incidents whose current closure is rated (评价: true) or waits for its rating (false)' })),
  from: Type.Optional(Type.String({ maxLength: 40, description: 'reportedAt ≥ (ISO 8601)' })),
  to: Type.Optional(Type.String({ maxLength: 40, description: 'reportedAt < (ISO 8601)' })),
  q: Type.Optional(Type.String({ maxLength: 200, description: 'literal text in description or address' })),
  assignedToMe: Type.Optional(Type.Boolean()),
  department: Type.Optional(Type.String({ pattern: '^[a-z_]{1,40}$' })),
  sort: Type.Optional(Type.Union([Type.Literal('-reportedAt'), Type.Literal('reportedAt'), Type.Literal('-priority'), Type.Literal('dueAt'), Type.Literal('stepDueAt')], { description: 'dueAt: the overall deadline first; stepDueAt: the step limit first' })),
  limit: Type.Integer({ minimum: 1, maximum: LIST_MAX_LIMIT, default: LIST_DEFAULT_LIMIT }),
  offset: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0 }),
});

export const Stats = Type.Object({
  open: Type.Integer(),
  overdue: Type.Integer({ description: 'open incidents overdue on either clock' }),
  stepOverdue: Type.Integer({ description: 'open incidents past their step limit' }),
  deadlineOverdue: Type.Integer({ description: 'open incidents past their overall deadline' }),
  urgentOpen: Type.Integer(),
  suspended: Type.Integer({ description: 'open incidents suspended (挂起)' }),
  escalated: Type.Integer({ description: 'open incidents with escalationLevel ≥ 1' }),
  byStatus: Type.Record(Type.String(), Type.Integer()),
});

export const Category = Type.Object({
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  departmentCode: Nullable(Type.String()),
  timeLimits: Type.Record(Type.String(), Type.Integer(), { description: 'step limits: minutes allowed in each status' }),
  overallLimitMinutes: Type.Integer({ description: 'the overall limit: minutes from report to the deadline (dueAt)' }),
  photoRequired: Type.Boolean({ description: 'resolving an incident of this category needs a photo (422 PHOTO_REQUIRED without)' }),
});

/** What an admin may change of a category. */
export const CategoryChange = Type.Object(
  { photoRequired: Type.Optional(Type.Boolean()) },
  { additionalProperties: false, minProperties: 1 },
);

export const Department = Type.Object({ code: Type.String(), nameZh: Type.String(), nameEn: Type.String() });

/** `{ id, photoId }` of a photo of an incident. */
export const PhotoParams = Type.Object({ id: Uuid, photoId: Uuid });

export const IdempotencyHeaders = Type.Object({
  'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});

export const PhotoCreated = Type.Object({ id: Type.String(), url: Type.String(), contentType: Type.String(), byteSize: Type.Integer() });

export { Status, Action, PriorityT };
