/**
 * Demo simulator: keeps the embedded demo alive the way a working district would.
 *
 * Responders: the generated ones (no account, user_id IS NULL) that are available move a few metres
 * along their nearest road every step, through the same service a phone's position batch goes
 * through (recordPositions: the track, the current position, one responder.moved event each) — so
 * the command map shows them online and moving, and dispatch has candidates. Responders with an
 * account are left to their phones.
 *
 * Incidents (with `deps.command`): residents' reports come in at a realistic pace — by the hour of
 * the day, as many as keep the open incidents at the number the simulator found when it started —
 * filed by the command centre's account; and every open incident moves on when its step's time has
 * come by the pace the generator used for the demo's past (`stepPlan` of @wangge/geo-data: most
 * steps end within their time limit, a few overrun it, so about a tenth of the open incidents are
 * overdue at any time). The command centre accepts, dispatches (to the nearest responders by travel
 * time, the candidates service, or to the category's department), verifies and closes; a handler
 * without an account has its steps recorded by the command centre on its behalf (代…登记), a
 * department's by the department's account where there is one; an incident assigned to a person's
 * own account waits for that person. Everything goes through the incidents service (runWrite), so
 * timelines, versions, responders' statuses and live events are the real ones; the escalation
 * timer (plugins/timers.ts) escalates what overruns. A controller keeps the overdue share between
 * 7 and 12 % of the open incidents: above it the most overdue are handled first (督办 works), below
 * it the incidents nearest their limit wait a little longer.
 *
 * System work: it reads every open incident and the demo accounts, unscoped. Not started by the
 * server on its own: main.ts starts it for the embedded demo (DEMO_SIMULATE), and stops it on close.
 */
import type pg from 'pg';
import type { Kysely } from 'kysely';
import {
  CATEGORY_TEXTS, CATEGORY_WEIGHTS, CHANNELS, DUPLICATE_NOTE, GRID_WORKER_CHANNEL, HOURLY, meanStepShare, onBehalfNote, PRIORITY_WEIGHTS,
  Random, REJECT_NOTES, RESOLVE_NOTES, stepPlan, type Category,
} from '@wangge/geo-data';
import type { CommandConfig } from '../config.js';
import type { DB } from '../db/types.js';
import { nextDemoPositionsUnscoped } from '../modules/responders/responders.repository.js';
import { recordPositions } from '../modules/responders/responders.service.js';
import { CandidatesService } from '../modules/responders/candidates.service.js';
import { addPhoto, reportIncident, transitionIncident, type IncidentsDeps } from '../modules/incidents/incidents.service.js';
import type { TransitionInput } from '../modules/incidents/incidents.transitions.js';
import type { Caller } from '../modules/incidents/incidents.feature.js';
import type { IncidentAction } from '../modules/incidents/lifecycle.js';
import { ApiError } from '../plugins/errors.js';
import { inScope } from '../auth/scope.js';
import { listCategories } from '../modules/incidents/incidents.repository.js';
import type { WriteDeps } from '../write/write.js';
import {
  countReportSpots, demoActorsUnscoped, openIncidentsUnscoped, reportSpot, type DemoActor, type OpenIncident,
} from './simulator.repository.js';

export interface SimulatorDeps {
  db: Kysely<DB>;
  /** app.live.wake: deliver the new events now (once per step). */
  wake: () => void;
  /** With `command`: the simulator works the incidents too (the pool serves the dispatcher's candidates). */
  pool?: pg.Pool;
  command?: CommandConfig;
  log?: (message: string) => void;
}

export interface SimulatorOptions {
  /** Milliseconds between steps (30 s). */
  intervalMs?: number;
  /** Metres moved per step (8 m: a walk of ~1 km/h on average). */
  stepMetres?: number;
  /** At most this many responders per step (a large city preset is not a demo). */
  maxPerTick?: number;
  /** Take the first step at once (default) rather than after one interval. */
  immediate?: boolean;
  /** No timer: steps are taken only when tick() is called (tests drive the simulation in accelerated time). */
  manual?: boolean;
  /** Move the generated responders (default true). */
  moveResponders?: boolean;
  /** Work the incidents (default: when deps.command is given). */
  workIncidents?: boolean;
  /** The simulation's clock in ms (default Date.now): reports come in by the time passed on it and its hour of day. */
  clock?: () => number;
  /** Seed of the simulator's random draws (default: from the clock). */
  seed?: number;
  /** New reports per hour on average over a day (default: as many as keep the open incidents at their starting number). */
  reportsPerHour?: number;
}

export interface TickResult {
  /** Responders moved. */
  moved: number;
  /** Incidents reported. */
  reported: number;
  /** Lifecycle steps taken, by action. */
  steps: Partial<Record<IncidentAction, number>>;
}

export interface Simulator {
  /** One step now. */
  tick(): Promise<TickResult>;
  stop(): Promise<void>;
}

/** The overdue share the controller holds the open incidents in (inside the 5–15 % a demo should show). */
export const OVERDUE_LOW = 0.07;
export const OVERDUE_HIGH = 0.12;
/** The open incidents the simulator keeps at least (a nearly empty district gets reports). */
const MIN_OPEN = 20;
/** A step without a time limit is paced as if it had this one (s). */
const DEFAULT_LIMIT_S = 3600;
/** Reports filed, and lifecycle steps taken, in one step at most. */
const MAX_REPORTS_PER_TICK = 5;
const MAX_STEPS_PER_TICK = 50;
/** Chances: a report is a duplicate closed at once; a handler sends an incident back (退单) from dispatched / in progress. */
const DUPLICATE_SHARE = 0.05;
const REJECT_SHARE: Record<string, number> = { dispatched: 0.03, in_progress: 0.02 };
/** Dispatches to the category's department rather than a responder. */
const DEPARTMENT_SHARE = 0.2;
const HOURLY_MEAN = HOURLY.reduce((a, b) => a + b, 0) / HOURLY.length;
/** The statuses a handled incident passes through before closing (its life's time limits). */
const LIFE_PATH = ['reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'verified'];
const SURNAMES = ['王', '李', '张', '刘', '陈', '杨', '黄', '赵', '吴', '周', '徐', '孙', '朱', '胡', '郭', '何', '林', '沈', '顾', '陆'];
const CITIZEN_CHANNELS = Object.fromEntries(Object.entries(CHANNELS).filter(([c]) => c !== GRID_WORKER_CHANNEL)) as Record<string, number>;

/** The proof photo of a resolve whose category requires one: a 1×1 PNG (the demo has no camera). */
const PROOF_PHOTO = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

const callerOf = (a: DemoActor): Caller => ({
  id: a.id, username: a.username, displayName: a.displayName, role: a.role, areaCode: a.areaCode, responderId: null, departmentCode: a.departmentCode,
});
/** Whether an incident of `gridCode` lies in the actor's area (the one scope rule). */
const covers = (a: DemoActor, gridCode: string | null) => inScope(a.areaCode, gridCode);

export function startDemoSimulator(deps: SimulatorDeps, opts: SimulatorOptions = {}): Simulator {
  const intervalMs = opts.intervalMs ?? 30_000;
  const step = opts.stepMetres ?? 8;
  const max = opts.maxPerTick ?? 1000;
  const clock = opts.clock ?? Date.now;
  // Each write would wake the hub; one wake after the step delivers them all.
  const writes: WriteDeps = { db: deps.db, live: { wake: () => {} } };
  const incidents = (opts.workIncidents ?? Boolean(deps.command)) && deps.command
    ? incidentWorker(deps, { ...writes, command: deps.command }, deps.command, { intervalMs, clock, seed: opts.seed ?? clock(), reportsPerHour: opts.reportsPerHour })
    : undefined;
  let running: Promise<TickResult> | undefined;
  let stopped = false;

  async function moveResponders(): Promise<number> {
    const next = await nextDemoPositionsUnscoped(deps.db, step, max);
    const recordedAt = new Date().toISOString();
    let moved = 0;
    for (const r of next) {
      if (stopped) break;
      const res = await recordPositions(writes, r.id, [{ lon: r.lon, lat: r.lat, recordedAt, accuracyMetres: 10 }]).catch((err: unknown) => {
        // Deleted since it was picked: nothing to move.
        if (err instanceof ApiError && err.code === 'NO_RESPONDER') return undefined;
        throw err;
      });
      if (res?.moved) moved++;
    }
    return moved;
  }

  async function tick(): Promise<TickResult> {
    const moved = opts.moveResponders === false ? 0 : await moveResponders();
    const work = incidents && !stopped ? await incidents.work(() => stopped) : { reported: 0, steps: {} };
    const result = { moved, ...work };
    if (moved || work.reported || Object.keys(work.steps).length) deps.wake();
    return result;
  }

  const run = () => {
    if (running || stopped) return;
    running = tick()
      .catch((err: Error) => {
        deps.log?.(`demo simulator: step failed: ${err.message}`);
        return { moved: 0, reported: 0, steps: {} };
      })
      .finally(() => {
        running = undefined;
      });
  };
  const timer = opts.manual ? undefined : setInterval(run, intervalMs);
  timer?.unref();
  if (!opts.manual && opts.immediate !== false) run();

  return {
    tick,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}

/** The incident side of the simulator (see the file comment). */
function incidentWorker(
  deps: SimulatorDeps,
  incDeps: IncidentsDeps,
  command: CommandConfig,
  o: { intervalMs: number; clock: () => number; seed: number; reportsPerHour?: number },
) {
  const { db } = deps;
  const rng = new Random(o.seed);
  // The dispatcher's list, as the command centre sees it (its own graph cache: a demo district's
  // road graph is small); unnamed statements, which both database modes take.
  const candidates = deps.pool ? new CandidatesService({ pool: deps.pool, db }, command, false) : undefined;
  const spots = new Map<string, { buildings: number; grids: number }>();
  /** The open incidents to keep, the reports per hour at the average hour, the clock at the last step. */
  let target: number | undefined;
  let baseRate: number | undefined;
  let lastClock: number | undefined;
  let warned = false;

  const limitOf = (r: OpenIncident) => r.limitSeconds ?? DEFAULT_LIMIT_S;
  const isOverdue = (r: OpenIncident) => r.limitSeconds !== null && r.elapsedSeconds > r.limitSeconds;
  const ratio = (r: OpenIncident) => r.elapsedSeconds / limitOf(r);
  /** When the current step ends by the plan: late ones overrun; on-time ones end a little before the limit at the latest. */
  const dueAfter = (r: OpenIncident) => {
    const plan = stepPlan(r.id, r.status);
    const limit = limitOf(r);
    return plan.late ? plan.share * limit : Math.min(plan.share * limit, limit - Math.min((2 * o.intervalMs) / 1000, 0.3 * limit));
  };

  /** Hours a handled incident stays open on average (the categories' limits along its life, at the pace's average). */
  async function meanLifeHours(): Promise<number> {
    const categories = new Map((await listCategories(db)).map((c) => [c.code, c.timeLimits]));
    let hours = 0;
    let weights = 0;
    for (const [category, w] of Object.entries(CATEGORY_WEIGHTS)) {
      const minutes = LIFE_PATH.reduce((s, status) => s + (categories.get(category)?.[status] ?? 60) * meanStepShare(status), 0);
      hours += (w * minutes) / 60;
      weights += w;
    }
    return hours / weights;
  }

  /**
   * The incidents to move on now: those whose step is due by the plan; with too many overdue, the
   * most overdue as well; with too few, the ones nearest their limit wait. At most a tenth of the
   * open incidents per step, and MAX_STEPS_PER_TICK (after a long pause the backlog is worked off
   * over a few minutes).
   */
  function choose(rows: OpenIncident[], workable: (r: OpenIncident) => boolean): OpenIncident[] {
    const open = rows.length;
    const overdue = rows.filter(isOverdue).length;
    const lo = Math.ceil(OVERDUE_LOW * open);
    const hi = Math.floor(OVERDUE_HIGH * open);
    const candidates = rows.filter(workable);
    const act = new Set(candidates.filter((r) => r.elapsedSeconds >= dueAfter(r)));
    if (overdue > hi) {
      const extra = candidates.filter((r) => isOverdue(r) && !act.has(r)).sort((a, b) => ratio(b) - ratio(a));
      for (const r of extra.slice(0, overdue - hi)) act.add(r);
    }
    let remaining = overdue - [...act].filter(isOverdue).length;
    if (remaining < lo) {
      // Hold back: overdue ones first (they stay overdue), then those nearest their limit (they soon are).
      const held = [...act].sort((a, b) => Number(isOverdue(b)) - Number(isOverdue(a)) || (limitOf(a) - a.elapsedSeconds) - (limitOf(b) - b.elapsedSeconds));
      for (const r of held) {
        if (remaining >= lo) break;
        act.delete(r);
        remaining++;
      }
    }
    const order = [...act].sort((a, b) => Number(isOverdue(b)) - Number(isOverdue(a)) || ratio(b) - ratio(a));
    return order.slice(0, Math.min(MAX_STEPS_PER_TICK, Math.max(4, Math.ceil(open / 10))));
  }

  /** Who records the handler's step: the department's account, or the command centre on the handler's behalf (null: a person's own). */
  function handlerOf(r: OpenIncident, actors: DemoActor[], command: DemoActor): { caller: Caller; behalfOf: string | null } | null {
    if (r.assigneeResponderId) return r.assigneeUserId ? null : { caller: callerOf(command), behalfOf: r.assigneeName ?? '处置人员' };
    if (r.assigneeDepartment) {
      const staff = actors.find((a) => a.role === 'department' && a.departmentCode === r.assigneeDepartment && covers(a, r.gridCode));
      return staff ? { caller: callerOf(staff), behalfOf: null } : { caller: callerOf(command), behalfOf: r.assigneeDepartmentName ?? r.assigneeDepartment };
    }
    return { caller: callerOf(command), behalfOf: null };
  }

  /**
   * One lifecycle step through the service: null when taken, else the code it was refused with
   * (someone else acted meanwhile, a responder taken, a photo required).
   */
  async function attempt(r: OpenIncident, caller: Caller, input: TransitionInput): Promise<string | null> {
    const route = input.action === 'dispatch' ? `POST /api/incidents/${r.id}/dispatch` : `POST /api/incidents/${r.id}/transitions`;
    try {
      await transitionIncident(incDeps, caller, r.id, { ...input, expectedVersion: r.version }, { key: undefined, route, body: input }, { user: caller });
      return null;
    } catch (err) {
      if (err instanceof ApiError && err.status < 500) return err.code;
      throw err;
    }
  }
  const take = async (r: OpenIncident, caller: Caller, input: TransitionInput) => (await attempt(r, caller, input)) === null;

  /** A handler's step; a resolve the category wants proof for gets a photo first. */
  async function handle(r: OpenIncident, caller: Caller, input: TransitionInput): Promise<boolean> {
    const refused = await attempt(r, caller, input);
    if (refused !== 'PHOTO_REQUIRED') return refused === null;
    const photo = await addPhoto(incDeps, caller, r.id, PROOF_PHOTO, 'image/png');
    return take(r, caller, { ...input, photoIds: [photo.body.id] });
  }

  /** Dispatch: to the category's department now and then, else the nearest available responder that can be claimed. */
  async function dispatch(r: OpenIncident, caller: Caller): Promise<boolean> {
    const department = r.categoryDepartment && r.categoryDepartment !== r.assigneeDepartment ? r.categoryDepartment : null;
    if (department && rng.chance(DEPARTMENT_SHARE)) return take(r, caller, { action: 'dispatch', departmentCode: department });
    const found = candidates ? await candidates.candidates(r.id, { k: 5, routes: false, lang: 'zh', scope: caller.areaCode }) : undefined;
    for (const c of found?.result.candidates ?? []) {
      if (c.responderId === r.assigneeResponderId) continue;
      if (await take(r, caller, { action: 'dispatch', responderId: c.responderId })) return true;
    }
    return department ? take(r, caller, { action: 'dispatch', departmentCode: department }) : false;
  }

  /** The incident's next step; the action taken, or null when nothing was done. */
  async function advance(r: OpenIncident, actors: DemoActor[]): Promise<IncidentAction | null> {
    const command = actors.find((a) => a.role !== 'department' && covers(a, r.gridCode));
    if (!command) return null;
    const cc = callerOf(command);
    const done = (action: IncidentAction) => (ok: boolean) => (ok ? action : null);
    switch (r.status) {
      case 'reported':
        if (rng.chance(DUPLICATE_SHARE)) return take(r, cc, { action: 'close', note: DUPLICATE_NOTE }).then(done('close'));
        return take(r, cc, { action: 'accept' }).then(done('accept'));
      case 'reopened':
        return take(r, cc, { action: 'accept' }).then(done('accept'));
      case 'accepted':
      case 'rejected':
        return dispatch(r, cc).then(done('dispatch'));
      case 'dispatched':
      case 'in_progress': {
        const handler = handlerOf(r, actors, command);
        if (!handler) return null;
        const reject = rng.chance(REJECT_SHARE[r.status]);
        const action: IncidentAction = reject ? 'reject' : r.status === 'dispatched' ? 'start' : 'resolve';
        const note = reject ? rng.pick(REJECT_NOTES) : action === 'resolve' ? rng.pick(RESOLVE_NOTES) : null;
        const written = handler.behalfOf ? onBehalfNote(handler.behalfOf, note) : note ?? undefined;
        return handle(r, handler.caller, { action, note: written ?? undefined }).then(done(action));
      }
      case 'resolved':
        return take(r, cc, { action: 'verify' }).then(done('verify'));
      case 'verified':
        return take(r, cc, { action: 'close' }).then(done('close'));
      default:
        return null;
    }
  }

  /** A resident's report, taken by the command centre's account at a building of its area. */
  async function report(actor: DemoActor): Promise<boolean> {
    let count = spots.get(actor.areaCode);
    if (!count) spots.set(actor.areaCode, (count = await countReportSpots(db, actor.areaCode)));
    const fromBuildings = count.buildings > 0;
    const n = Math.floor(rng.next() * (fromBuildings ? count.buildings : count.grids));
    const spot = await reportSpot(db, actor.areaCode, n, fromBuildings);
    if (!spot) return false;
    const category = rng.weighted(CATEGORY_WEIGHTS) as Category;
    const channel = rng.weighted(CITIZEN_CHANNELS);
    const body = {
      category,
      priority: rng.weighted(PRIORITY_WEIGHTS[category]),
      description: `${channel}${spot.name ? `${spot.name}：` : ''}${rng.pick(CATEGORY_TEXTS[category])}`,
      location: { type: 'Point' as const, coordinates: [spot.lon, spot.lat] },
      ...(spot.address ? { address: spot.address } : {}),
      reporterContact: `${rng.pick(SURNAMES)}${rng.chance(0.5) ? '先生' : '女士'} 1${rng.int(30, 99)}${String(rng.int(0, 99_999_999)).padStart(8, '0')}`,
    };
    try {
      await reportIncident(incDeps, callerOf(actor), body, undefined);
      return true;
    } catch (err) {
      // A point outside every grid (imported data with gaps): nothing reported this time.
      if (err instanceof ApiError && err.status < 500) return false;
      throw err;
    }
  }

  async function work(stopped: () => boolean): Promise<{ reported: number; steps: Partial<Record<IncidentAction, number>> }> {
    const steps: Partial<Record<IncidentAction, number>> = {};
    const actors = await demoActorsUnscoped(db);
    const command = actors.filter((a) => a.role !== 'department');
    if (!command.length) {
      if (!warned) deps.log?.('demo simulator: no commander or admin account, so no incidents are reported or worked');
      warned = true;
      return { reported: 0, steps };
    }
    const rows = await openIncidentsUnscoped(db);
    target ??= Math.max(MIN_OPEN, rows.length);
    baseRate ??= o.reportsPerHour ?? target / (await meanLifeHours());

    // Work: the incidents whose time has come, as their handlers and the command centre.
    const workable = (r: OpenIncident) =>
      command.some((a) => covers(a, r.gridCode)) && !(['dispatched', 'in_progress'].includes(r.status) && r.assigneeUserId !== null);
    for (const r of choose(rows, workable)) {
      if (stopped()) break;
      const action = await advance(r, actors);
      if (action) steps[action] = (steps[action] ?? 0) + 1;
    }

    // Reports: by the time passed and the hour of day (UTC+8), more while the district is quieter than it was.
    const now = o.clock();
    const passed = lastClock === undefined ? o.intervalMs : Math.max(0, now - lastClock);
    lastClock = now;
    const hour = Math.floor((now + 8 * 3_600_000) / 3_600_000) % 24;
    const open = rows.length - (steps.close ?? 0);
    const pressure = Math.min(4, Math.max(0.25, (target / Math.max(1, open)) ** 2));
    const expected = (baseRate * HOURLY[hour] / HOURLY_MEAN) * pressure * (passed / 3_600_000);
    const count = Math.min(MAX_REPORTS_PER_TICK, Math.floor(expected) + (rng.next() < expected % 1 ? 1 : 0));
    let reported = 0;
    for (let i = 0; i < count && !stopped(); i++) if (await report(command[0])) reported++;
    return { reported, steps };
  }

  return { work };
}
