import { Type, type Static } from 'typebox';
import { ROLES, type Role } from '../../auth/permissions.js';
import { Action, Category, Department, PHOTO_TYPES, PriorityT, Status } from '../incidents/incidents.schemas.js';

// A union built from a list types as never[] in TypeBox: Unsafe gives it the list's static type.
const RoleT = Type.Unsafe<Role>(Type.Union(ROLES.map((r) => Type.Literal(r))));
const PhotoType = Type.Unsafe<(typeof PHOTO_TYPES)[number]>(Type.Union(PHOTO_TYPES.map((t) => Type.Literal(t))));

/** One row of the lifecycle table (server/src/modules/incidents/lifecycle.ts). */
export const ActionRule = Type.Object({
  action: Action,
  from: Type.Array(Status, { description: 'statuses the action may be taken from' }),
  to: Type.Union([Status, Type.Null()], { description: 'the status after the step; null: it stays (suspend 挂起, resume and the extension steps 延期 act on the clocks only)' }),
  by: Type.Union([Type.Literal('command'), Type.Literal('handler'), Type.Literal('community')], {
    description: "'command': the command centre only; 'handler': also the assigned grid worker or a user of the assigned department; 'community' (评价): also the grid worker of the incident's grid",
  }),
  noteRequiredFrom: Type.Array(Status, { description: 'from these statuses the action needs a note (a subset of `from`)' }),
  photos: Type.Boolean({ description: 'photos may be attached as proof' }),
  minutes: Type.Boolean({ description: 'the step takes `minutes` (延期: asked for, or granted)' }),
  score: Type.Boolean({ description: 'the step takes a `score` 1–5 and an optional `comment` (评价)' }),
});

export const Meta = Type.Object({
  lifecycle: Type.Object({
    statuses: Type.Array(Status, { description: 'every status, in lifecycle order' }),
    openStatuses: Type.Array(Status, { description: 'statuses that still need work' }),
    actions: Type.Array(ActionRule, { description: 'in lifecycle order' }),
    actors: Type.Object({
      command: Type.Array(RoleT, { description: "roles of the command centre ('command'); they may also act for a handler" }),
      handler: Type.Array(RoleT, { description: "roles that handle an incident assigned to them ('handler')" }),
      community: Type.Array(RoleT, { description: "roles that rate a closed incident of their own grid besides the command centre ('community')" }),
    }),
  }),
  priorities: Type.Array(PriorityT, { description: 'lowest first' }),
  photos: Type.Object({
    maxBytes: Type.Integer({ description: 'largest photo body accepted (PHOTO_MAX_BYTES)' }),
    types: Type.Array(PhotoType),
    maxPendingPerStep: Type.Integer({ description: 'photos that may wait to be attached to one step' }),
    maxPerIncident: Type.Integer(),
  }),
  categories: Type.Array(Category),
  departments: Type.Array(Department),
});
export type Meta = Static<typeof Meta>;
