/**
 * The department scores (考评, issue 12): the range of Asia/Shanghai days and the area checked
 * against the caller's scope, the figures (kpis.repository.ts), the score from the admins' weights
 * with the formula shown beside it, the exports (CSV with a BOM for spreadsheet programs, XLSX with
 * exceljs), the incidents behind a figure, and the weights' write (audited).
 */
import ExcelJS from 'exceljs';
import { ApiError } from '../../plugins/errors.js';
import { inScope } from '../../auth/scope.js';
import type { Db } from '../../db/transaction.js';
import { runWrite, type Answer, type WriteDeps } from '../../write/write.js';
import { appendAudit, type AuditContext } from '../audit/audit.repository.js';
import type { Caller } from '../incidents/incidents.feature.js';
import { listIncidents } from '../incidents/incidents.repository.js';
import { areaExists, departmentFigures, incidentsOfFigure, readWeights, writeWeights, type DepartmentFigures, type TaskRange } from './kpis.repository.js';
import { WEIGHT_FIGURES, type DepartmentRowValue, type IncidentsFigure, type WeightsValue } from './kpis.schemas.js';

const ZONE = 'Asia/Shanghai';
/** Asia/Shanghai has no daylight saving: a day starts at 16:00 UTC the day before. */
const ZONE_OFFSET_MS = 8 * 3_600_000;
const DAY_MS = 86_400_000;
/** The longest range of days a table covers. */
export const MAX_RANGE_DAYS = 366;
/** The default range: this many days ending today. */
const DEFAULT_RANGE_DAYS = 30;

/** Today in Asia/Shanghai as YYYY-MM-DD. */
function today(): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date());
}

/** The UTC midnight of a real calendar day, or 400 INVALID_PARAMETER. */
function dayMs(name: string, day: string): number {
  const [y, m, d] = day.split('-').map(Number);
  const ms = Date.UTC(y, m - 1, d);
  const back = new Date(ms);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day) || back.getUTCFullYear() !== y || back.getUTCMonth() !== m - 1 || back.getUTCDate() !== d) {
    throw new ApiError(400, 'INVALID_PARAMETER', `${name} must be a calendar day (YYYY-MM-DD), not "${day}"`, { parameter: name });
  }
  return ms;
}

const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

export interface KpiRange {
  from: string;
  to: string;
  area: string | null;
}

/**
 * The days (both included; default the last 30 ending today) as instants, and the area: inside
 * the caller's scope (404 otherwise, as for any id out of scope) and existing.
 */
async function taskRange(db: Db, c: Caller, q: { from?: string; to?: string; area?: string }): Promise<{ range: TaskRange; shown: KpiRange }> {
  const toMs = dayMs('to', q.to ?? today());
  const fromMs = q.from === undefined ? toMs - (DEFAULT_RANGE_DAYS - 1) * DAY_MS : dayMs('from', q.from);
  if (fromMs > toMs) throw new ApiError(400, 'INVALID_PARAMETER', `from (${isoDay(fromMs)}) is after to (${isoDay(toMs)})`, { parameter: 'from' });
  if ((toMs - fromMs) / DAY_MS + 1 > MAX_RANGE_DAYS) {
    throw new ApiError(400, 'INVALID_PARAMETER', `a range covers at most ${MAX_RANGE_DAYS} days`, { parameter: 'from' });
  }
  const area = q.area ?? null;
  if (area !== null && (!inScope(c.areaCode, area) || !(await areaExists(db, area)))) {
    throw new ApiError(404, 'NOT_FOUND', `no area "${area}" in your scope`);
  }
  return {
    range: { from: new Date(fromMs - ZONE_OFFSET_MS), to: new Date(toMs + DAY_MS - ZONE_OFFSET_MS), scope: c.areaCode, area },
    shown: { from: isoDay(fromMs), to: isoDay(toMs), area },
  };
}

/** Each weighed figure's value in 0…1 (null: no value, left out of the score). */
const FIGURE_VALUE: Record<(typeof WEIGHT_FIGURES)[number], (r: DepartmentFigures) => number | null> = {
  startedOnTime: (r) => (r.received ? r.started_on_time / r.received : null),
  onTime: (r) => r.on_time_share,
  notRejected: (r) => (r.reject_share === null ? null : 1 - r.reject_share),
  notReopened: (r) => (r.reopen_share === null ? null : 1 - r.reopen_share),
  rating: (r) => (r.mean_rating === null ? null : (r.mean_rating - 1) / 4),
};

/** The score: 100 × Σ wᵢ·xᵢ / Σ wᵢ over the figures with a value (one decimal); null without tasks. */
export function score(r: DepartmentFigures, w: WeightsValue): number | null {
  if (!r.received) return null;
  let sum = 0;
  let weight = 0;
  for (const f of WEIGHT_FIGURES) {
    const x = FIGURE_VALUE[f](r);
    if (x === null || w[f] === 0) continue;
    sum += w[f] * x;
    weight += w[f];
  }
  return weight ? Math.round((1000 * sum) / weight) / 10 : null;
}

/** The formula, as shown with the table (zh-CN first, English after). */
export function formula(w: WeightsValue): string {
  const terms = `${w.startedOnTime}×按时响应率 + ${w.onTime}×按期办结率 + ${w.notRejected}×(1−退单率) + ${w.notReopened}×(1−返工率) + ${w.rating}×(平均评分−1)/4`;
  const en = `${w.startedOnTime}×started on time + ${w.onTime}×resolved by the deadline + ${w.notRejected}×(1−reject share) + ${w.notReopened}×(1−reopen share) + ${w.rating}×(mean rating−1)/4`;
  return `得分 = 100 × (${terms}) ÷ 权重之和（无数据的指标不计入）｜score = 100 × (${en}) ÷ the sum of their weights (figures without data left out)`;
}

export interface KpiTable extends KpiRange {
  rows: DepartmentRowValue[];
  weights: WeightsValue;
  formula: string;
}

/** GET /api/kpis/departments: the ranking, best score first. */
export async function departmentTable(db: Db, c: Caller, q: { from?: string; to?: string; area?: string }): Promise<KpiTable> {
  const { range, shown } = await taskRange(db, c, q);
  const [figures, { weights }] = await Promise.all([departmentFigures(db, range), readWeights(db)]);
  const rows = figures.map((r): DepartmentRowValue => ({
    departmentCode: r.code,
    name: r.name_zh,
    nameEn: r.name_en,
    received: r.received,
    startedOnTime: r.started_on_time,
    medianStartMinutes: r.median_start,
    p90StartMinutes: r.p90_start,
    medianResolveMinutes: r.median_resolve,
    p90ResolveMinutes: r.p90_resolve,
    onTimeShare: r.on_time_share,
    rejectShare: r.reject_share,
    reopenShare: r.reopen_share,
    meanRating: r.mean_rating,
    ratings: r.ratings,
    score: score(r, weights),
  }));
  rows.sort((a, b) => (b.score ?? -1) - (a.score ?? -1) || b.received - a.received || a.departmentCode.localeCompare(b.departmentCode));
  return { ...shown, rows, weights, formula: formula(weights) };
}

/** The exported columns: the JSON row's fields (but the English name), with their zh-CN headers. */
export const EXPORT_COLUMNS: [keyof DepartmentRowValue, string][] = [
  ['departmentCode', '部门代码'], ['name', '部门'], ['received', '受理任务数'], ['startedOnTime', '按时响应数'],
  ['medianStartMinutes', '响应用时中位数（分钟）'], ['p90StartMinutes', '响应用时 P90（分钟）'],
  ['medianResolveMinutes', '办结用时中位数（分钟）'], ['p90ResolveMinutes', '办结用时 P90（分钟）'],
  ['onTimeShare', '按期办结率'], ['rejectShare', '退单率'], ['reopenShare', '返工率'], ['meanRating', '平均评分'], ['ratings', '评价数'], ['score', '得分'],
];

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
};

/** The table as CSV: a BOM (spreadsheet programs read UTF-8 then), a header line, one line per department. */
export function tableCsv(t: KpiTable): string {
  const lines = [EXPORT_COLUMNS.map(([, h]) => h), ...t.rows.map((r) => EXPORT_COLUMNS.map(([k]) => r[k]))];
  return `\uFEFF${lines.map((l) => l.map(csvCell).join(',')).join('\r\n')}\r\n`;
}

/** The table as an XLSX workbook: the table sheet (numbers as numbers, blanks for no value) and the formula below it. */
export async function tableXlsx(t: KpiTable): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.created = new Date();
  const sheet = book.addWorksheet('部门考评');
  sheet.addRow(EXPORT_COLUMNS.map(([, h]) => h)).font = { bold: true };
  for (const r of t.rows) sheet.addRow(EXPORT_COLUMNS.map(([k]) => r[k] ?? null));
  sheet.columns.forEach((col, i) => { col.width = i === 1 ? 16 : 14; });
  const about = book.addWorksheet('说明');
  about.addRow(['时间范围', `${t.from} 至 ${t.to}（北京时间，含首尾）`]);
  about.addRow(['区域', t.area ?? '全部辖区']);
  about.addRow(['得分公式', t.formula]);
  return Buffer.from(await book.xlsx.writeBuffer());
}

/** GET /api/kpis/departments/{code}/incidents: the incidents behind one figure, as the list's Features. */
export async function figureIncidents(
  db: Db, c: Caller, department: string, q: { from?: string; to?: string; area?: string; figure: IncidentsFigure; limit: number },
) {
  const { range } = await taskRange(db, c, q);
  const ids = await incidentsOfFigure(db, range, department, q.figure, q.limit);
  return listIncidents(db, c, { ids, sort: '-reportedAt', limit: q.limit, offset: 0 });
}

/** GET /api/kpis/department-weights. */
export async function weightsAnswer(db: Db) {
  const { weights, updatedAt } = await readWeights(db);
  return { weights, updatedAt: updatedAt?.toISOString() ?? null };
}

/** PUT /api/kpis/department-weights (admins of the whole installation, as categories): all five at once, not all zero; audited with before and after. */
export async function setWeights(deps: WriteDeps, c: Caller, weights: WeightsValue, audit: AuditContext): Promise<Answer<Awaited<ReturnType<typeof weightsAnswer>>>> {
  if (c.areaCode !== '*') {
    throw new ApiError(403, 'FORBIDDEN', 'the weights are the whole installation\'s: only an admin of the whole installation (*) may change them');
  }
  if (WEIGHT_FIGURES.every((f) => weights[f] === 0)) {
    throw new ApiError(422, 'INVALID_PARAMETER', 'at least one weight must be above 0', { parameter: 'weights' });
  }
  return runWrite(deps, async (trx) => {
    const before = await readWeights(trx);
    await writeWeights(trx, weights, c.id);
    await appendAudit(trx, audit, { action: 'kpi.weights', entity: 'department_kpi_weights', before: before.weights, after: weights });
    return { status: 200, body: await weightsAnswer(trx), events: [] };
  });
}
