import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  actionsFrom, allowedActions, INCIDENT_ACTIONS, INCIDENT_STATUSES, LIFECYCLE, mayAct, noteRequired, statusAfter, takesMinutes, takesScore,
  type IncidentAction, type IncidentStatus,
} from '../../server/src/modules/incidents/lifecycle.js';
import { act, call, COMMUNITY1, forceStatus, GRID1, GRID2, IN1, IN2, newIncident, responder, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session;
let worker: Session; // grid worker of grid 1 with a responder
let otherWorker: Session;
let dept: Session; // department user of 'housing'
let otherDept: Session; // department user of 'greening'
let viewer: Session;
let planner: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
  worker = await session(env, 'grid_worker', GRID1, { at: IN1 });
  otherWorker = await session(env, 'grid_worker', GRID1, { at: IN1 });
  dept = await session(env, 'department', '310101', { department: 'housing' });
  otherDept = await session(env, 'department', '310101', { department: 'greening' });
  viewer = await session(env, 'viewer', COMMUNITY1);
  planner = await session(env, 'planner', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

/** A body the action takes, with '理由' as its note (评价: as its comment, with a score). */
const bodyOf = (action: IncidentAction): Record<string, unknown> => ({
  action, ...(takesScore(action) ? { score: 4, comment: '理由' } : { note: '理由' }), ...(takesMinutes(action) ? { minutes: 60 } : {}),
});

const timelineActions = async (id: string) =>
  (await env.db.pool.query<{ action: string }>('SELECT action FROM incident_transitions WHERE incident_id = $1 ORDER BY id', [id])).rows.map((r) => r.action);
const incident = async (id: string) =>
  (await env.db.pool.query('SELECT status, version, closed_at, assignee_responder_id::text AS assignee, assignee_department FROM incidents WHERE id = $1', [id])).rows[0];

describe('every action from every status (command centre)', () => {
  const cases = INCIDENT_STATUSES.flatMap((s) => INCIDENT_ACTIONS.map((a) => [a, s] as [IncidentAction, IncidentStatus]));
  it.each(cases)('%s from %s', async (action, from) => {
    const id = await newIncident(env);
    await forceStatus(env.db.pool, id, from);
    const before = await incident(id);
    const body = bodyOf(action);
    if (action === 'dispatch') Object.assign(body, { responderId: await responder(env.db.pool, GRID1, IN1), reassign: from === 'dispatched' });
    const res = await act(env, id, body, commander.cookie);
    if (actionsFrom(from).includes(action)) {
      const to = statusAfter(action, from);
      expect(res.statusCode, res.body).toBe(200);
      const p = res.json().properties;
      expect(p.status).toBe(to);
      expect(p.version).toBe(before.version + 1);
      // Suspended, resume is all there is.
      expect(p.allowedActions).toEqual(actionsFrom(to, { suspended: action === 'suspend', extensionPending: action === 'request_extension', rated: action === 'rate' }));
      expect(p.ratings.map((r: { score: number; comment: string }) => [r.score, r.comment])).toEqual(action === 'rate' ? [[4, '理由']] : []);
      expect(p.suspendedSince !== null).toBe(action === 'suspend');
      const steps = action === 'dispatch' && from === 'reported' ? ['accept', 'dispatch'] : [action];
      expect(await timelineActions(id)).toEqual(['report', ...steps]);
      expect(p.timeline.slice(1).map((t: { action: string; fromStatus: string; toStatus: string; note: string | null; actor: { id: string } }) => [t.action, t.fromStatus, t.toStatus, t.actor.id])).toEqual(
        action === 'dispatch' && from === 'reported'
          ? [['accept', 'reported', 'accepted', commander.id], ['dispatch', 'accepted', 'dispatched', commander.id]]
          : [[action, from, to, commander.id]],
      );
      expect(p.timeline.at(-1).note).toBe('理由');
      const after = await incident(id);
      if (LIFECYCLE[action].to !== null) expect(after.closed_at !== null).toBe(to === 'closed');
      if (action === 'dispatch') expect(after.assignee).toBe(body.responderId);
    } else {
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'INVALID_TRANSITION', currentStatus: from, suspended: false, extensionPending: false, allowed: actionsFrom(from) });
      expect(await incident(id)).toEqual(before);
      expect(await timelineActions(id)).toEqual(['report']);
    }
  });

  // 挂起: while suspended, every action but resume is refused and writes nothing.
  const open = INCIDENT_STATUSES.filter((s) => s !== 'closed');
  it.each(open.flatMap((s) => INCIDENT_ACTIONS.map((a) => [a, s] as [IncidentAction, IncidentStatus])))('%s from %s while suspended', async (action, from) => {
    const id = await newIncident(env);
    await forceStatus(env.db.pool, id, from);
    expect((await act(env, id, { action: 'suspend', note: '等待报告人补充材料' }, commander.cookie)).statusCode).toBe(200);
    const before = await incident(id);
    const body = bodyOf(action);
    if (action === 'dispatch') Object.assign(body, { responderId: await responder(env.db.pool, GRID1, IN1), reassign: from === 'dispatched' });
    const res = await act(env, id, body, commander.cookie);
    if (action === 'resume') {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().properties).toMatchObject({ status: from, suspendedSince: null, allowedActions: actionsFrom(from) });
    } else {
      expect(res.statusCode).toBe(409);
      expect(res.json()).toMatchObject({ code: 'INVALID_TRANSITION', currentStatus: from, suspended: true, allowed: ['resume'] });
      expect(await incident(id)).toEqual(before);
      expect(await timelineActions(id)).toEqual(['report', 'suspend']);
    }
  });
});

describe('who may act', () => {
  type Who = 'commander' | 'assignee' | 'otherWorker' | 'department' | 'otherDepartment' | 'viewer' | 'planner';
  const whos: Who[] = ['commander', 'assignee', 'otherWorker', 'department', 'otherDepartment', 'viewer', 'planner'];
  const cookieOf = (w: Who) => ({ commander, assignee: worker, otherWorker, department: dept, otherDepartment: otherDept, viewer, planner })[w].cookie;
  const cases = INCIDENT_ACTIONS.flatMap((a) => whos.map((w) => [a, w] as [IncidentAction, Who]));

  it.each(cases)('%s by %s', async (action, who) => {
    const id = await newIncident(env);
    const from = LIFECYCLE[action].from[0];
    // Assigned to the worker's responder and to the housing department, so both handler kinds are "theirs".
    await forceStatus(env.db.pool, id, from, worker.responderId, 'housing');
    await env.db.pool.query(`UPDATE responders SET status = 'busy', position_at = now() WHERE id = $1`, [worker.responderId]);
    // Resume needs a suspension: the assignee's (so the assignee, besides the command centre, may resume it).
    if (action === 'resume') await env.db.pool.query(`UPDATE incidents SET suspended_since = now(), suspended_by = $2 WHERE id = $1`, [id, worker.id]);
    // An extension is answered only while one is pending.
    if (action === 'approve_extension' || action === 'refuse_extension') {
      await env.db.pool.query(`UPDATE incidents SET extension_pending_minutes = 30, extension_pending_by = $2, extension_pending_at = now() WHERE id = $1`, [id, worker.id]);
    }
    const body = bodyOf(action);
    if (action === 'dispatch') body.departmentCode = 'greening';
    const res = await act(env, id, body, cookieOf(who));
    const role = { commander: 'commander', assignee: 'grid_worker', otherWorker: 'grid_worker', department: 'department', otherDepartment: 'department', viewer: 'viewer', planner: 'planner' } as const;
    const permitted = who !== 'viewer' && who !== 'planner'
      && mayAct(action, {
        role: role[who], isAssignee: who === 'assignee', isAssignedDepartment: who === 'department', isSuspender: who === 'assignee',
        // Both grid workers work the incident's grid (评价).
        isGridWorkerOfGrid: who === 'assignee' || who === 'otherWorker',
      });
    if (permitted) {
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().properties.status).toBe(statusAfter(action, from));
    } else {
      expect(res.statusCode, `${action} by ${who}`).toBe(403);
      expect(res.json().code).toBe('FORBIDDEN');
      expect((await incident(id)).status).toBe(from);
      expect(await timelineActions(id)).toEqual(['report']);
    }
  });

  it('the allowedActions of a Feature are the lifecycle\'s for the caller', async () => {
    const id = await newIncident(env);
    await forceStatus(env.db.pool, id, 'in_progress', worker.responderId, null);
    const get = async (s: Session) => (await call(env, 'GET', `/api/incidents/${id}`, { cookie: s.cookie })).json().properties.allowedActions;
    expect(await get(commander)).toEqual(['resolve', 'reject', 'suspend', 'request_extension']);
    expect(await get(worker)).toEqual(['resolve', 'reject', 'suspend', 'request_extension']);
    expect(await get(otherWorker)).toEqual([]);
    // Suspended by the worker: the worker and the command centre may resume it, nothing else.
    expect((await act(env, id, { action: 'suspend', note: '等待物业答复' }, worker.cookie)).statusCode).toBe(200);
    expect(await get(worker)).toEqual(['resume']);
    expect(await get(commander)).toEqual(['resume']);
    expect(await get(otherWorker)).toEqual([]);
    expect(await get(viewer)).toEqual([]);
    expect(allowedActions('in_progress', { role: 'viewer', isAssignee: false, isAssignedDepartment: false })).toEqual([]);
  });
});

describe('notes, versions and unknown ids', () => {
  it.each([
    ['reject', 'dispatched'], ['reject', 'in_progress'], ['dispatch', 'dispatched'], ['reopen', 'closed'], ['reopen', 'resolved'], ['close', 'reported'], ['close', 'rejected'], ['close', 'reopened'], ['close', 'accepted'],
  ] as [IncidentAction, IncidentStatus][])('%s from %s without a note is 422 NOTE_REQUIRED (blank too)', async (action, from) => {
    const id = await newIncident(env);
    await forceStatus(env.db.pool, id, from);
    for (const note of [undefined, '   ']) {
      const reassign = action === 'dispatch' ? { reassign: true } : {};
      const res = await act(env, id, { action, ...reassign, ...(note === undefined ? {} : { note }) }, commander.cookie);
      expect(res.statusCode).toBe(422);
      expect(res.json().code).toBe('NOTE_REQUIRED');
    }
    expect((await incident(id)).status).toBe(from);
    expect(noteRequired(action, from)).toBe(true);
  });

  it('close from verified needs no note', async () => {
    const id = await newIncident(env);
    await forceStatus(env.db.pool, id, 'verified');
    expect((await act(env, id, { action: 'close' }, commander.cookie)).statusCode).toBe(200);
  });

  it('a stale expectedVersion is 409 VERSION_CONFLICT and writes nothing; the current one passes', async () => {
    const id = await newIncident(env);
    const stale = await act(env, id, { action: 'accept', expectedVersion: 7 }, commander.cookie);
    expect(stale.statusCode).toBe(409);
    expect(stale.json()).toMatchObject({ code: 'VERSION_CONFLICT', version: 1 });
    expect(await timelineActions(id)).toEqual(['report']);
    const ok = await act(env, id, { action: 'accept', expectedVersion: 1 }, commander.cookie);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().properties.version).toBe(2);
  });

  it('an unknown action is 400, an unknown id 404, a malformed id 404', async () => {
    const id = await newIncident(env);
    expect((await act(env, id, { action: 'explode' }, commander.cookie)).statusCode).toBe(400);
    expect((await act(env, '00000000-0000-4000-8000-000000000000', { action: 'accept' }, commander.cookie)).statusCode).toBe(404);
    expect((await act(env, 'not-a-uuid', { action: 'accept' }, commander.cookie)).statusCode).toBe(404);
    expect((await call(env, 'GET', '/api/incidents/not-a-uuid')).statusCode).toBe(404);
    expect((await call(env, 'GET', '/api/incidents/00000000-0000-4000-8000-000000000000')).statusCode).toBe(404);
  });
});

describe('random sequences of actions by random roles (property)', () => {
  type Actor = 'commander' | 'worker' | 'otherWorker' | 'dept' | 'viewer';
  interface Step { action: IncidentAction; actor: Actor; target: 'worker' | 'housing'; withNote: boolean; reassign: boolean }
  const step = fc.record({
    action: fc.constantFrom(...INCIDENT_ACTIONS),
    actor: fc.constantFrom<Actor>('commander', 'commander', 'worker', 'otherWorker', 'dept', 'viewer'),
    target: fc.constantFrom<'worker' | 'housing'>('worker', 'housing'),
    withNote: fc.boolean(),
    reassign: fc.boolean(),
  });

  it('status is always valid and equals the replay of the accepted actions; the timeline has one row per accepted step, in order', async () => {
    const cookie: Record<Actor, string> = { commander: commander.cookie, worker: worker.cookie, otherWorker: otherWorker.cookie, dept: dept.cookie, viewer: viewer.cookie };
    const role = { commander: 'commander', worker: 'grid_worker', otherWorker: 'grid_worker', dept: 'department', viewer: 'viewer' } as const;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 14 }), async (steps: Step[]) => {
        await env.db.pool.query('UPDATE incidents SET assignee_responder_id = NULL WHERE assignee_responder_id = $1', [worker.responderId]);
        await env.db.pool.query(`UPDATE responders SET status = 'available', position_at = now() WHERE id = $1`, [worker.responderId]);
        const id = await newIncident(env);
        const m = {
          status: 'reported' as IncidentStatus, assignee: null as 'worker' | null, department: null as string | null, workerStatus: 'available',
          suspendedBy: null as Actor | null, extensionPending: false, rated: false,
        };
        const expectedTimeline = ['report'];
        for (const s of steps) {
          const body: Record<string, unknown> = { action: s.action, ...(takesMinutes(s.action) ? { minutes: 45 } : {}), ...(takesScore(s.action) ? { score: 3 } : {}) };
          if (s.withNote) body[takesScore(s.action) ? 'comment' : 'note'] = '说明';
          if (s.reassign) body.reassign = true;
          if (s.action === 'dispatch') Object.assign(body, s.target === 'worker' ? { responderId: worker.responderId } : { departmentCode: 'housing' });
          const res = await act(env, id, body, cookie[s.actor]);
          const ctx = {
            role: role[s.actor], isAssignee: s.actor === 'worker' && m.assignee === 'worker', isAssignedDepartment: s.actor === 'dept' && m.department === 'housing',
            isSuspender: m.suspendedBy === s.actor,
            // Both grid workers work the incident's grid.
            isGridWorkerOfGrid: s.actor === 'worker' || s.actor === 'otherWorker',
          };
          const state = { suspended: m.suspendedBy !== null, extensionPending: m.extensionPending, rated: m.rated };
          let expected: [number, string?];
          if (s.actor === 'viewer') expected = [403, 'FORBIDDEN'];
          else if (s.action === 'rate' && m.status === 'closed' && m.rated) expected = [409, 'ALREADY_RATED'];
          else if (!actionsFrom(m.status, state).includes(s.action)) expected = [409, 'INVALID_TRANSITION'];
          else if (!mayAct(s.action, ctx)) expected = [403, 'FORBIDDEN'];
          else if (s.action === 'dispatch' && m.status === 'dispatched' && !s.reassign) expected = [409, 'ALREADY_ASSIGNED'];
          else if (noteRequired(s.action, m.status) && !s.withNote) expected = [422, 'NOTE_REQUIRED'];
          else if (s.action === 'dispatch' && s.target === 'worker' && m.workerStatus !== 'available') expected = [409, 'RESPONDER_UNAVAILABLE'];
          else expected = [200];
          expect(res.statusCode === 200 ? [200] : [res.statusCode, res.json().code], `${s.actor} ${s.action} from ${m.status}`).toEqual(expected);
          if (res.statusCode !== 200) continue;
          // Replay through the lifecycle table.
          if (s.action === 'dispatch') {
            if (m.status === 'reported') expectedTimeline.push('accept');
            if (s.target === 'worker') {
              m.assignee = 'worker';
              m.department = null;
              m.workerStatus = 'busy';
            } else {
              if (m.assignee === 'worker') m.workerStatus = 'available';
              m.assignee = null;
              m.department = 'housing';
            }
          }
          if ((s.action === 'resolve' || s.action === 'reject') && m.assignee === 'worker') m.workerStatus = 'available';
          if (s.action === 'suspend') m.suspendedBy = s.actor;
          if (s.action === 'resume') m.suspendedBy = null;
          if (s.action === 'request_extension') m.extensionPending = true;
          if (s.action === 'approve_extension' || s.action === 'refuse_extension') m.extensionPending = false;
          if (s.action === 'rate') m.rated = true;
          if (LIFECYCLE[s.action].to !== null) m.rated = false;
          m.status = statusAfter(s.action, m.status);
          expectedTimeline.push(s.action);
          const p = res.json().properties;
          expect(INCIDENT_STATUSES).toContain(p.status);
          expect(p.status).toBe(m.status);
          expect(p.suspendedSince !== null).toBe(m.suspendedBy !== null);
          expect(p.pendingExtension !== null).toBe(m.extensionPending);
          expect(p.allowedActions).toEqual(allowedActions(m.status, {
            ...ctx, isAssignee: s.actor === 'worker' && m.assignee === 'worker', isAssignedDepartment: s.actor === 'dept' && m.department === 'housing',
            isSuspender: m.suspendedBy === s.actor,
          }, { suspended: m.suspendedBy !== null, extensionPending: m.extensionPending, rated: m.rated }));
        }
        expect((await incident(id)).status).toBe(m.status);
        expect(await timelineActions(id)).toEqual(expectedTimeline);
        const r = await env.db.pool.query('SELECT status FROM responders WHERE id = $1', [worker.responderId]);
        expect(r.rows[0].status).toBe(m.workerStatus);
      }),
      { numRuns: 60 },
    );
  });
});
