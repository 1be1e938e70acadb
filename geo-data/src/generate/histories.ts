/**
 * The life of each generated incident, step by step, as the API would have recorded it: the report,
 * then accept → dispatch → start → resolve → verify → close as far as it got (with the occasional
 * 退单 and new dispatch, a duplicate closed at once, the rare 督办), each step on the timeline with
 * its time, its actor and the responder or department it went to; most handled and closed ones then
 * rated (评价) by the grid's worker. Departments get a share of the dispatches of their categories,
 * each department with its own habits (how often it starts late, sends back, is rated well), drawn
 * from a stream of its own, so that the department scores (考评) have something to rank.
 *
 * Open incidents are planned back from `now`: each is in the step the simulator's pace (pace.ts)
 * has it in — on time, except a quota of OVERDUE_SHARE in a long step (handling, verification) that
 * are past their limit, escalated as the minute timer would have done — and their earlier steps all
 * ended within their limits. So a fresh
 * demo has about a tenth of its open incidents overdue, escalations only on those, and the
 * simulator carries on from there without a jump. Closed incidents are spread over the last `days`
 * days; a few had a late step with its escalation.
 *
 * Actors are names: the generator knows no accounts. The command centre's steps are by
 * COMMAND_CENTRE_ACTOR, a handler's by the assigned responder, a grid worker's own finding is
 * reported by the grid's worker, escalations by SYSTEM_ACTOR; the demo seed gives the names accounts
 * (server/src/demo/seed.repository.ts bindGeneratedActors).
 */
import { GRID_WORKER_CHANNEL, reportTime, type IncidentReport, type IncidentStatus } from './incidents.js';
import { LATE_STATUSES, ON_TIME, OVERDUE_SHARE, stepPlan } from './pace.js';
import type { Random } from './random.js';
import type { ResponderPlan } from './responders.js';
import type { GridPlan } from './layout.js';

/** The command centre (指挥中心) as the actor of its steps, until an account takes them over. */
export const COMMAND_CENTRE_ACTOR = '指挥中心';
/** The actor of escalations (the escalation timer writes the same). */
export const SYSTEM_ACTOR = 'system';

export type StepAction = 'report' | 'accept' | 'dispatch' | 'start' | 'resolve' | 'reject' | 'verify' | 'close' | 'escalate' | 'rate';

export interface HistoryStep {
  action: StepAction;
  from: IncidentStatus | null;
  to: IncidentStatus;
  at: Date;
  actor: string;
  note: string | null;
  /** The responder a dispatch went to (an index into the responders). */
  responder: number | null;
  /** The department a dispatch went to (its code). */
  department?: string | null;
  /** 评价: the score of a rating step (its note is the comment). */
  score?: number;
  /** The incident's escalation level when the step was taken (null for the report). */
  escalationLevel: number | null;
}

export type Responder = ResponderPlan & { id: string };

export interface IncidentPlan extends IncidentReport {
  id: string;
  status: IncidentStatus;
  reportedAt: Date;
  /** When the current status began: the last step (the report for a reported one). */
  statusSince: Date;
  closedAt: Date | null;
  /** The responder of the last dispatch (an index into the responders), and when. */
  assignee: number | null;
  /** The department of the last dispatch (when it went to one). */
  assigneeDepartment: string | null;
  /** 评价: the closure is rated (its last step). */
  rated: boolean;
  assignedAt: Date | null;
  escalationLevel: number;
  escalatedAt: Date | null;
  /** 1 at the report, + 1 per step and escalation (as the API counts). */
  version: number;
  steps: HistoryStep[];
}

export interface HistoryContext {
  now: Date;
  /** How far back closed incidents go. */
  days: number;
  /** How many incidents are open now (the first ones of the reports). */
  open: number;
  /** Time limits in minutes by `${category}/${status}` (incident_time_limits). */
  limits: ReadonlyMap<string, number>;
  responders: readonly Responder[];
  rng: Random;
  /** The stream incident ids are drawn from. */
  ids: Random;
  /** Departments by code with their names, and the department of each category that has one. */
  departments?: ReadonlyMap<string, string>;
  categoryDepartments?: ReadonlyMap<string, string>;
  /** The stream of what departments do and of ratings (apart, so the rest stays as it was). */
  departmentRng?: Random;
}

const MINUTE = 60_000;
/** A status without a limit is planned as if it had this one. */
const DEFAULT_LIMIT_MIN = 60;
/** Past steps end at this share of their limit (on time, some slack to the limit). */
const PAST_ON_TIME: readonly [number, number] = [ON_TIME[0], 0.85];
/** Closed incidents with one late step (and its 督办). */
const CLOSED_LATE_SHARE = 0.03;
/** Closed without handling: a duplicate right after the report, or nothing to do after acceptance. */
const DUPLICATE_SHARE = 0.06;
const NOTHING_TO_DO_SHARE = 0.03;
/** Handled incidents that were sent back once (退单) and dispatched again. */
const DETOUR_SHARE = 0.04;

/** Open incidents by status; the long steps (handling, waiting for verification) hold most of them. */
const OPEN_WEIGHTS: Record<Exclude<IncidentStatus, 'closed'>, number> = {
  reported: 0.08, accepted: 0.07, dispatched: 0.1, in_progress: 0.32, resolved: 0.18, verified: 0.2, rejected: 0.05,
};
const OPEN_ORDER = Object.keys(OPEN_WEIGHTS) as Exclude<IncidentStatus, 'closed'>[];

const TO: Record<Exclude<StepAction, 'report' | 'escalate' | 'rate'>, IncidentStatus> = {
  accept: 'accepted', dispatch: 'dispatched', start: 'in_progress', resolve: 'resolved', reject: 'rejected', verify: 'verified', close: 'closed',
};
/** Statuses in which the assignee is at work (busy). */
const ACTIVE: readonly IncidentStatus[] = ['dispatched', 'in_progress'];

export const REJECT_NOTES = [
  '不属于本网格职责范围，请改派。', '现场未发现所述情况，请指挥中心核实。', '需专业部门处置，申请退回改派。', '人员另有紧急任务，无法及时到场，请改派。',
];
export const RESOLVE_NOTES = [
  '已处置完毕，现场恢复正常。', '已上门协调，双方达成一致。', '已联系相关单位修复。', '已清理完毕。', '已现场整改到位。', null, null,
];
export const DUPLICATE_NOTE = '重复上报，已并入此前工单处理。';
const NOTHING_TO_DO_NOTE = '经核实无需处置，予以结案。';
/**
 * The note of a step the command centre records for a handler without an account (a phone call
 * from the field): the demo seed turns generated handlers' steps into these, the simulator writes them.
 */
export const onBehalfNote = (name: string, note: string | null): string => `代${name}登记${note ? `：${note}` : ''}`;

/** Dispatches of a category with a department that go to the department. */
const DEPARTMENT_SHARE = 0.35;
/** Handled and closed incidents rated (评价) by the grid's worker. */
const RATED_SHARE = 0.6;
export const RATING_COMMENTS = ['处理及时，效果很好。', '态度好，已解决。', '处理较慢，希望改进。', '问题基本解决。', null, null, null];

/** A department's habits: the share of its tasks started late and sent back, and its usual score. */
interface DepartmentHabits { late: number; reject: number; rating: number }
/** A responder's usual score. */
const RESPONDER_RATING = 4.3;

export const ESCALATION_NOTES = ['超时督办：升级至街道', '超时督办：升级至区'] as const;

/** Open incidents the quota makes overdue: about OVERDUE_SHARE, always within 5–15 % when there are at least 7. */
export function overdueQuota(open: number): number {
  if (open < 7) return 0;
  return Math.min(Math.floor(0.15 * open), Math.max(Math.ceil(0.05 * open), Math.round(open * OVERDUE_SHARE)));
}

/** The steps after the report that lead to `status` (closed: handled, or closed without handling). */
function script(status: IncidentStatus, rng: Random): Exclude<StepAction, 'report' | 'escalate' | 'rate'>[] {
  if (status === 'reported') return [];
  if (status === 'accepted') return ['accept'];
  if (status === 'rejected') return rng.chance(0.5) ? ['accept', 'dispatch', 'reject'] : ['accept', 'dispatch', 'start', 'reject'];
  if (status === 'closed') {
    const r = rng.next();
    if (r < DUPLICATE_SHARE) return ['close'];
    if (r < DUPLICATE_SHARE + NOTHING_TO_DO_SHARE) return ['accept', 'close'];
  }
  const full: Exclude<StepAction, 'report' | 'escalate' | 'rate'>[] = ['accept', 'dispatch', 'start', 'resolve', 'verify', 'close'];
  const out = full.slice(0, full.findIndex((a) => TO[a] === status) + 1);
  // Sent back once by the first assignee (退单) and dispatched again.
  if (out.length >= 2 && rng.chance(DETOUR_SHARE)) out.splice(2, 0, 'reject', 'dispatch');
  return out;
}

/** Responders by grid and by community, grid workers first, then by name: who a dispatch goes to, in turn. */
class Roster {
  private readonly byGrid = new Map<GridPlan, number[]>();
  private readonly byCommunity = new Map<GridPlan['community'], number[]>();
  private readonly all: number[];
  /** Responders at work on an open incident now. */
  readonly active = new Set<number>();

  constructor(private readonly responders: readonly Responder[]) {
    const order = responders.map((_, i) => i).sort((a, b) => {
      const x = responders[a];
      const y = responders[b];
      return Number(x.kind !== 'grid_worker') - Number(y.kind !== 'grid_worker') || x.name.localeCompare(y.name) || x.phone.localeCompare(y.phone);
    });
    this.all = order;
    for (const i of order) {
      const g = responders[i].homeGrid;
      this.byGrid.set(g, [...(this.byGrid.get(g) ?? []), i]);
      this.byCommunity.set(g.community, [...(this.byCommunity.get(g.community) ?? []), i]);
    }
  }

  /** The grid's first grid worker (who reports what they find on patrol). */
  gridWorker(grid: GridPlan): number | null {
    const first = this.byGrid.get(grid)?.[0];
    return first !== undefined && this.responders[first].kind === 'grid_worker' ? first : null;
  }

  /**
   * A responder of the grid, else of its community, else of the district, in turn by `n`; one
   * going to work now must be on duty and not at work already. Null when there is none.
   */
  pick(grid: GridPlan, n: number, now: boolean, except: number | null): number | null {
    // (Should every one be busy or off duty, the rule for "now" gives way rather than the dispatch.)
    for (const strict of now ? [true, false] : [false]) {
      for (const list of [this.byGrid.get(grid), this.byCommunity.get(grid.community), this.all]) {
        if (!list?.length) continue;
        for (let k = 0; k < list.length; k++) {
          const i = list[(n + k) % list.length];
          if (i === except) continue;
          if (strict && (this.responders[i].status === 'off_duty' || this.active.has(i))) continue;
          return i;
        }
      }
    }
    return except;
  }
}

/** Plans every incident's history (see the file comment). The first `ctx.open` reports become the open ones. */
export function planHistories(reports: readonly IncidentReport[], ctx: HistoryContext): IncidentPlan[] {
  const { rng, now, limits, responders } = ctx;
  const drng = ctx.departmentRng;
  const departments = ctx.departments ?? new Map<string, string>();
  const habits = new Map<string, DepartmentHabits>();
  if (drng) {
    for (const code of [...departments.keys()].sort()) {
      habits.set(code, { late: drng.range(0.03, 0.3), reject: drng.range(0, 0.15), rating: drng.range(3.2, 4.8) });
    }
  }
  /** A score around `mean` (1–5). */
  const scoreAround = (mean: number) => Math.max(1, Math.min(5, Math.round(mean + drng!.range(-1.4, 1.4))));
  const roster = new Roster(responders);
  const limitMin = (r: IncidentReport, s: IncidentStatus) => limits.get(`${r.category}/${s}`);
  const limitMs = (r: IncidentReport, s: IncidentStatus) => (limitMin(r, s) ?? DEFAULT_LIMIT_MIN) * MINUTE;

  const open = Math.min(ctx.open, reports.length);
  const openStatus = (j: number): IncidentStatus => (open >= OPEN_ORDER.length && j < OPEN_ORDER.length ? OPEN_ORDER[j] : rng.weighted(OPEN_WEIGHTS));
  const statuses = reports.map((_, j) => (j < open ? openStatus(j) : 'closed' as const));
  // The overdue ones: a sample of the open incidents in a step that can run late (and has a limit).
  const limited = statuses.map((s, j) => j).filter((j) => j < open && LATE_STATUSES.includes(statuses[j]) && limitMin(reports[j], statuses[j]) !== undefined);
  const overdue = new Set(rng.shuffle(limited).slice(0, overdueQuota(open)));
  // Active ones first, so that each finds a free responder.
  const order = reports.map((_, j) => j).sort((a, b) => Number(!ACTIVE.includes(statuses[a])) - Number(!ACTIVE.includes(statuses[b])) || a - b);

  const plans: IncidentPlan[] = new Array(reports.length);
  for (const j of order) {
    const r = reports[j];
    const status = statuses[j];
    const isOpen = j < open;
    const late = overdue.has(j);
    // An overdue incident's step is a late one in the simulator's plan (drawn until it is).
    let id = ctx.ids.uuid();
    while (late && !stepPlan(id, status).late) id = ctx.ids.uuid();
    const actions = script(status, rng);

    // Dispatches: to a responder of the grid (in turn by the incident's index); the one an active
    // incident is at now must be free, and a second dispatch goes to someone else.
    const dispatches = actions.flatMap((a, k) => (a === 'dispatch' ? [k] : []));
    const assigned = new Map<number, number | null>();
    // The last dispatch goes to the category's department now and then (not one at work now: the
    // roster keeps those apart).
    const department = drng && !isOpen && dispatches.length ? ctx.categoryDepartments?.get(r.category) ?? null : null;
    const toDepartment = department !== null && habits.has(department) && drng!.chance(DEPARTMENT_SHARE) ? department : null;
    const departmentAt = toDepartment ? dispatches[dispatches.length - 1] : -1;
    // A department sending its task back (退单) before the next dispatch.
    if (toDepartment && drng!.chance(habits.get(toDepartment)!.reject) && actions.length > departmentAt + 1 && actions[departmentAt + 1] === 'start') {
      actions.splice(departmentAt + 1, 0, 'reject', 'dispatch');
      dispatches.push(departmentAt + 2);
    }
    let previous: number | null = null;
    for (const k of dispatches) {
      if (k === departmentAt) {
        assigned.set(k, null);
        continue;
      }
      const current = isOpen && ACTIVE.includes(status) && k === dispatches[dispatches.length - 1];
      const who = roster.pick(r.grid, j, current, previous);
      if (current && who !== null) roster.active.add(who);
      assigned.set(k, who);
      previous = who;
    }

    // How long the incident stayed in the status each action left (ms), on time; a few closed
    // incidents had one late step.
    const dwell = actions.map((a, k) => {
      const from = k === 0 ? 'reported' : TO[actions[k - 1]];
      return rng.range(PAST_ON_TIME[0], PAST_ON_TIME[1]) * limitMs(r, from);
    });
    const lateStep = !isOpen && actions.length > 0 && rng.chance(CLOSED_LATE_SHARE) ? rng.int(0, actions.length - 1) : -1;
    if (lateStep >= 0) dwell[lateStep] = rng.range(1.2, 2.6) * limitMs(r, lateStep === 0 ? 'reported' : TO[actions[lateStep - 1]]);
    // The department's task started late, as its habit goes.
    if (toDepartment && actions[departmentAt + 1] === 'start' && drng!.chance(habits.get(toDepartment)!.late)) {
      dwell[departmentAt + 1] = drng!.range(1.1, 2.2) * limitMs(r, 'dispatched');
    }

    // The time spent in the current status (open ones): within the plan's share of the limit, and
    // past the limit for the overdue ones.
    let elapsed = 0;
    if (isOpen) {
      const plan = stepPlan(id, status);
      const limit = limitMs(r, status);
      elapsed = late
        ? limit * rng.range(1.05, Math.max(1.1, 0.95 * plan.share))
        : limit * rng.range(0, Math.min(plan.share, ON_TIME[1]) * 0.95);
    }
    const total = dwell.reduce((s, d) => s + d, 0);
    let reported: number;
    if (isOpen) {
      reported = now.getTime() - elapsed - total;
    } else {
      // Closed at least a minute ago, reported within the period.
      const latest = now.getTime() - total - MINUTE;
      reported = reportTime(now, ctx.days, rng, latest).getTime();
    }

    // The steps, in order, with times on whole seconds.
    const second = (t: number) => new Date(Math.floor(t / 1000) * 1000);
    const reporter = r.channel === GRID_WORKER_CHANNEL ? roster.gridWorker(r.grid) : null;
    const steps: HistoryStep[] = [{
      action: 'report', from: null, to: 'reported', at: second(reported),
      actor: reporter !== null ? responders[reporter].name : COMMAND_CENTRE_ACTOR, note: null, responder: null, escalationLevel: null,
    }];
    let level = 0;
    let escalatedAt: Date | null = null;
    let assignee: number | null = null;
    let assigneeDepartment: string | null = null;
    let assignedAt: Date | null = null;
    let t = reported;
    let current: IncidentStatus = 'reported';
    /** Escalations the timer made while the incident stayed `stay` ms in the current status. */
    const escalate = (stay: number) => {
      const limit = limitMin(r, current);
      if (limit === undefined) return;
      for (let n = 1; level < LEVELS && n * limit * MINUTE < stay - 1000; n++) {
        level++;
        escalatedAt = second(t + n * limit * MINUTE);
        steps.push({ action: 'escalate', from: current, to: current, at: escalatedAt, actor: SYSTEM_ACTOR, note: ESCALATION_NOTES[level - 1], responder: null, escalationLevel: level });
      }
    };
    actions.forEach((a, k) => {
      escalate(dwell[k]);
      t += dwell[k];
      const to = TO[a];
      const handler = assignee !== null ? responders[assignee].name : assigneeDepartment !== null ? departments.get(assigneeDepartment)! : COMMAND_CENTRE_ACTOR;
      let note: string | null = null;
      if (a === 'reject') note = rng.pick(REJECT_NOTES);
      else if (a === 'resolve') note = rng.pick(RESOLVE_NOTES);
      else if (a === 'close' && current !== 'verified') note = current === 'reported' ? DUPLICATE_NOTE : NOTHING_TO_DO_NOTE;
      const responder = a === 'dispatch' ? assigned.get(k) ?? null : null;
      const dept = a === 'dispatch' && k === departmentAt ? toDepartment : null;
      if (a === 'dispatch') {
        assignee = responder;
        assigneeDepartment = dept;
        assignedAt = second(t);
      }
      steps.push({
        action: a, from: current, to, at: second(t), actor: a === 'start' || a === 'resolve' || a === 'reject' ? handler : COMMAND_CENTRE_ACTOR,
        note, responder, department: dept, escalationLevel: level,
      });
      current = to;
    });
    const statusSince = second(t);
    if (isOpen) escalate(now.getTime() - t);

    // 评价: a handled, closed incident rated by the grid's worker (or the command centre) a while
    // after its closure; the score as the handler's habit goes.
    let rated = false;
    if (drng && status === 'closed' && actions.includes('verify') && drng.chance(RATED_SHARE)) {
      const at = second(t + drng.range(10, 2 * 24 * 60) * MINUTE);
      if (at.getTime() < now.getTime() - MINUTE) {
        const worker = roster.gridWorker(r.grid);
        const mean = assigneeDepartment !== null ? habits.get(assigneeDepartment)!.rating : RESPONDER_RATING;
        steps.push({
          action: 'rate', from: 'closed', to: 'closed', at, actor: worker !== null ? responders[worker].name : COMMAND_CENTRE_ACTOR,
          note: drng.pick(RATING_COMMENTS), responder: null, escalationLevel: level, score: scoreAround(mean),
        });
        rated = true;
      }
    }

    plans[j] = {
      ...r,
      id,
      status,
      reportedAt: steps[0].at,
      statusSince,
      closedAt: status === 'closed' ? statusSince : null,
      assignee,
      assigneeDepartment,
      rated,
      assignedAt,
      escalationLevel: level,
      escalatedAt,
      version: steps.length,
      steps,
    };
  }
  return plans;
}

/** Escalation levels: 1 the street, 2 the district (incidents.escalation_level). */
const LEVELS = 2;
