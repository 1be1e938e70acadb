import { departmentFiguresSql } from '../../server/src/modules/kpis/kpis.repository.js';
import type { Database } from '../../server/src/db/database.js';
import { fmt, httpGet, median, percentile, timed, type Row } from './stats.js';

const ROUNDS = 20;
const DAY_MS = 86_400_000;

/**
 * The department table (考评) for the whole district over 90 days: the endpoint (HTTP, JSON; an
 * admin of '*') against the statement it runs, sent straight through `pg`, alternating in one run.
 * The 90 days end on the day of the latest dispatch to a department in the preset.
 */
export async function benchKpi(database: Database, origin: string, cookie: string): Promise<Row[]> {
  const { rows: [span] } = await database.pool.query<{ last: Date | null; tasks: number }>(
    `SELECT max(at) AS last, count(*)::int AS tasks FROM incident_transitions WHERE action = 'dispatch' AND department_code IS NOT NULL`);
  if (!span.last) return [{ what: 'department table', ours: '–', baseline: '–', ratio: '–', note: 'the preset has no dispatches to departments: regenerate it (BENCH_REGENERATE=1)' }];
  // Days in Asia/Shanghai (UTC+8, no daylight saving): the UTC midnight of the latest dispatch's day.
  const lastDay = Date.parse(`${new Date(span.last.getTime() + 8 * 3_600_000).toISOString().slice(0, 10)}T00:00:00Z`);
  const toDay = new Date(lastDay).toISOString().slice(0, 10);
  const fromMs = lastDay - 89 * DAY_MS;
  const fromDay = new Date(fromMs).toISOString().slice(0, 10);
  const statement = departmentFiguresSql({
    from: new Date(fromMs - 8 * 3_600_000), to: new Date(lastDay + DAY_MS - 8 * 3_600_000), scope: '*', area: null,
  }).compile(database.db);
  const url = `${origin}/api/kpis/departments?from=${fromDay}&to=${toDay}`;
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < ROUNDS + 2; i++) {
    const a = await timed(async () => {
      const res = await httpGet(url, { 'accept-encoding': 'gzip', cookie });
      if (res.status !== 200) throw new Error(`department table: HTTP ${res.status}`);
    });
    const b = await timed(() => database.pool.query(statement.sql, statement.parameters as unknown[]));
    if (i >= 2) {
      ours.push(a);
      raw.push(b);
    }
  }
  return [{
    what: `department table, district, 90 days (${span.tasks} department tasks in the preset) (ms)`,
    ours: `p50 ${fmt(median(ours))} · p95 ${fmt(percentile(ours, 95))}`,
    baseline: `p50 ${fmt(median(raw))} · p95 ${fmt(percentile(raw, 95))}`,
    ratio: `${fmt(median(ours) / median(raw), 2)}× (p95 ${fmt(percentile(ours, 95) / percentile(raw, 95), 2)}×)`,
    note: 'endpoint vs its SQL via pg; goal ≤ 1.5×',
  }];
}
