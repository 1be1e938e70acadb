import { Type, type Static } from 'typebox';
import { Nullable } from '../../lib/schemas.js';

/** The figures the department score weighs (migration 0017's department_kpi_weights). */
export const WEIGHT_FIGURES = ['startedOnTime', 'onTime', 'notRejected', 'notReopened', 'rating'] as const;
export type WeightFigure = (typeof WEIGHT_FIGURES)[number];

const Weight = Type.Number({ minimum: 0, maximum: 100 });
export const Weights = Type.Object(
  Object.fromEntries(WEIGHT_FIGURES.map((f) => [f, Weight])) as Record<WeightFigure, typeof Weight>,
  { additionalProperties: false, description: 'each figure\'s weight in the score (0–100; at least one above 0)' },
);
export type WeightsValue = Static<typeof Weights>;

export const WeightsBody = Type.Object({ weights: Weights }, { additionalProperties: false });
export const WeightsAnswer = Type.Object({ weights: Weights, updatedAt: Nullable(Type.String()) });

/** A day in Asia/Shanghai. */
const Day = Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$', description: 'a calendar day in Asia/Shanghai (YYYY-MM-DD)' });

export const FIGURES_OF_INCIDENTS = ['received', 'startedOnTime', 'startedLate', 'resolved', 'resolvedLate', 'rejected', 'reopened', 'rated'] as const;
export type IncidentsFigure = (typeof FIGURES_OF_INCIDENTS)[number];

export const KpiQuery = Type.Object({
  from: Type.Optional(Day),
  to: Type.Optional(Type.String({ ...Day, description: 'the last day, included (default today)' })),
  area: Type.Optional(Type.String({ pattern: '^[0-9]{6,15}$', description: 'an area or grid code inside the caller\'s scope (default: the whole scope)' })),
  format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv'), Type.Literal('xlsx')], { description: 'json (default), csv (UTF-8 with BOM) or xlsx' })),
});

export const KpiIncidentsQuery = Type.Object({
  from: KpiQuery.properties.from,
  to: KpiQuery.properties.to,
  area: KpiQuery.properties.area,
  figure: Type.Union(FIGURES_OF_INCIDENTS.map((f) => Type.Literal(f)), { description: 'which tasks of the figure: received, startedOnTime, startedLate, resolved, resolvedLate (after the overall deadline), rejected, reopened, rated' }),
  limit: Type.Integer({ minimum: 1, maximum: 500, default: 200 }),
});

export const DepartmentRow = Type.Object({
  departmentCode: Type.String(),
  name: Type.String({ description: 'the department\'s name (zh-CN; nameEn for English)' }),
  nameEn: Type.String(),
  received: Type.Integer({ description: 'dispatches to the department in the range (tasks)' }),
  startedOnTime: Type.Integer({ description: 'tasks started (开始处置) within the step limit of the dispatched step, time suspended not counted' }),
  medianStartMinutes: Nullable(Type.Number()),
  p90StartMinutes: Nullable(Type.Number()),
  medianResolveMinutes: Nullable(Type.Number()),
  p90ResolveMinutes: Nullable(Type.Number()),
  onTimeShare: Nullable(Type.Number({ description: 'of tasks not rejected that are resolved or past the overall deadline: the share resolved by the deadline' })),
  rejectShare: Nullable(Type.Number({ description: 'tasks sent back (退单) / received' })),
  reopenShare: Nullable(Type.Number({ description: 'resolved tasks reopened afterwards / resolved tasks' })),
  meanRating: Nullable(Type.Number()),
  ratings: Type.Integer(),
  score: Nullable(Type.Number({ description: '0–100 by the weights; null without tasks' })),
});
export type DepartmentRowValue = Static<typeof DepartmentRow>;

export const KpiAnswer = Type.Object({
  from: Type.String(),
  to: Type.String(),
  area: Nullable(Type.String()),
  rows: Type.Array(DepartmentRow),
  weights: Weights,
  formula: Type.String({ description: 'how the score is computed from the figures and the weights' }),
});
