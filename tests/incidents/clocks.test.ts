/**
 * The two clocks (issue 12): the step limit, named by its step, restarts with every step (a
 * reassignment included); the overall deadline is set at report and never moves on dispatch,
 * reassignment, rejection or reopening. 督办 on either clock, each exactly once. Time is the test's:
 * timestamps are written into the past, nothing sleeps.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, call, COMMUNITY1, escalateOverdue, GRID1, IN1, newIncident, responder, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session;
let worker: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
  worker = await session(env, 'grid_worker', GRID1, { at: IN1 });
});
afterAll(async () => {
  await env?.close();
});

const props = async (id: string) => (await call(env, 'GET', `/api/incidents/${id}`, { cookie: commander.cookie })).json().properties;
const minutes = (a: string, b: string) => (Date.parse(a) - Date.parse(b)) / 60_000;
const overallLimit = async (category: string) =>
  (await env.db.pool.query<{ m: number }>('SELECT overall_limit_minutes AS m FROM incident_categories WHERE code = $1', [category])).rows[0].m;
const stepLimit = async (category: string, status: string) =>
  (await env.db.pool.query<{ m: number }>('SELECT limit_minutes AS m FROM incident_time_limits WHERE category = $1 AND status = $2', [category, status])).rows[0].m;
/** As if the incident had been reported `mins` minutes earlier (both clocks' origins move back). */
const reportedEarlier = (id: string, mins: number) =>
  env.db.pool.query(
    `UPDATE incidents SET reported_at = reported_at - make_interval(mins => $2), due_at = due_at - make_interval(mins => $2),
            status_since = status_since - make_interval(mins => $2) WHERE id = $1`, [id, mins]);
const escalations = async (id: string) =>
  (await env.db.pool.query<{ note: string; level: number }>(
    `SELECT note, escalation_level AS level FROM incident_transitions WHERE incident_id = $1 AND action = 'escalate' ORDER BY id`, [id])).rows;

describe('two clocks', () => {
  it('at report: the step limit (受理) from statusSince, the overall deadline from reportedAt, both from the category', async () => {
    const id = await newIncident(env, IN1, { category: 'dispute' });
    const p = await props(id);
    expect(p.step).toBe('accept');
    expect(minutes(p.stepDueAt, p.statusSince)).toBe(await stepLimit('dispute', 'reported'));
    expect(minutes(p.dueAt, p.reportedAt)).toBe(await overallLimit('dispute'));
    expect(p).toMatchObject({ stepOverdue: false, deadlineOverdue: false, overdue: false });
    // The category's limits as the app reads them.
    const { categories } = (await call(env, 'GET', '/api/incident-categories', { cookie: commander.cookie })).json();
    expect(categories.find((c: { code: string }) => c.code === 'dispute')).toMatchObject({ overallLimitMinutes: await overallLimit('dispute') });
  });

  it('the overall deadline never moves: not on accept, dispatch, reassignment, rejection, re-dispatch or reopening; the step clock restarts with each', async () => {
    const id = await newIncident(env, IN1, { category: 'sanitation' });
    const first = await props(id);
    const due = first.dueAt;
    const r1 = await responder(env.db.pool, GRID1, IN1);
    const r2 = await responder(env.db.pool, GRID1, IN1);
    const steps: Array<[string, () => Promise<{ statusCode: number }>, string, string]> = [
      ['accept', () => act(env, id, { action: 'accept' }, commander.cookie), 'accepted', 'dispatch'],
      ['dispatch', () => call(env, 'POST', `/api/incidents/${id}/dispatch`, { cookie: commander.cookie, body: { responderId: r1 } }), 'dispatched', 'start'],
      ['reassign', () => call(env, 'POST', `/api/incidents/${id}/dispatch`, { cookie: commander.cookie, body: { responderId: r2, reassign: true, note: '改派' } }), 'dispatched', 'start'],
      ['reject', () => act(env, id, { action: 'reject', note: '不属于本网格' }, commander.cookie), 'rejected', 'dispatch'],
      ['dispatch again', () => call(env, 'POST', `/api/incidents/${id}/dispatch`, { cookie: commander.cookie, body: { responderId: r1 } }), 'dispatched', 'start'],
      ['start', () => act(env, id, { action: 'start' }, commander.cookie), 'in_progress', 'resolve'],
      ['resolve', () => act(env, id, { action: 'resolve' }, commander.cookie), 'resolved', 'verify'],
      ['reopen', () => act(env, id, { action: 'reopen', note: '居民反映未解决' }, commander.cookie), 'reopened', 'accept'],
    ];
    let previousStart = first.statusSince;
    for (const [what, step, status, next] of steps) {
      // Each step a minute after the last (the clocks' origins move back), so a restart shows.
      await reportedEarlier(id, 1);
      const res = await step();
      expect(res.statusCode, what).toBe(200);
      const p = await props(id);
      expect(p.status, what).toBe(status);
      expect(p.step, what).toBe(next);
      // Moved back with the rest by the test only: relative to reportedAt it is where it was.
      expect(minutes(p.dueAt, p.reportedAt), what).toBe(await overallLimit('sanitation'));
      expect(minutes(p.stepDueAt, p.statusSince), what).toBe(await stepLimit('sanitation', status));
      // The step clock restarted: its start is this step's (after the last one, moved back a minute).
      expect(Date.parse(p.statusSince), what).toBeGreaterThan(Date.parse(previousStart) - 60_000);
      previousStart = p.statusSince;
    }
    // In absolute time: the deadline is the first one, moved back the test's 8 minutes and nothing else.
    expect(minutes(due, (await props(id)).dueAt)).toBe(8);
  });

  it('a change of the category\'s overall limit does not move the deadlines of incidents already reported', async () => {
    const id = await newIncident(env, IN1, { category: 'traffic' });
    const before = (await props(id)).dueAt;
    const limit = await overallLimit('traffic');
    try {
      await env.db.pool.query('UPDATE incident_categories SET overall_limit_minutes = $2 WHERE code = $1', ['traffic', limit * 2]);
      expect((await props(id)).dueAt).toBe(before);
      const later = await newIncident(env, IN1, { category: 'traffic' });
      const p = await props(later);
      expect(minutes(p.dueAt, p.reportedAt)).toBe(limit * 2);
    } finally {
      await env.db.pool.query('UPDATE incident_categories SET overall_limit_minutes = $2 WHERE code = $1', ['traffic', limit]);
    }
  });

  it('past its overall deadline an incident is overdue on that clock: flagged, listed, counted apart', async () => {
    const id = await newIncident(env, IN1, { category: 'fire' });
    // Accepted a minute ago (a fresh step), reported long enough ago for the deadline to have passed.
    await act(env, id, { action: 'accept' }, commander.cookie);
    await env.db.pool.query(
      `UPDATE incidents SET reported_at = reported_at - make_interval(mins => $2), due_at = due_at - make_interval(mins => $2) WHERE id = $1`,
      [id, (await overallLimit('fire')) + 1]);
    const p = await props(id);
    expect(p).toMatchObject({ step: 'dispatch', stepOverdue: false, deadlineOverdue: true, overdue: true });
    const listed = (await call(env, 'GET', '/api/incidents?overdue=true&sort=dueAt&limit=500', { cookie: commander.cookie })).json();
    expect(listed.features.map((f: { id: string }) => f.id)).toContain(id);
    const stats = (await call(env, 'GET', '/api/incidents/stats', { cookie: commander.cookie })).json();
    expect(stats.deadlineOverdue).toBeGreaterThanOrEqual(1);
    expect(stats.overdue).toBeGreaterThanOrEqual(stats.deadlineOverdue);
    expect(stats.overdue).toBeLessThanOrEqual(stats.stepOverdue + stats.deadlineOverdue);
    // Counted by the test's own SQL: either clock, open incidents of the area only.
    const { rows } = await env.db.pool.query<{ step: number; deadline: number; either: number }>(
      `SELECT count(*) FILTER (WHERE s)::int AS step, count(*) FILTER (WHERE d)::int AS deadline, count(*) FILTER (WHERE s OR d)::int AS either
         FROM (SELECT i.status_since + tl.limit_minutes * interval '1 minute' < now() AS s, i.due_at < now() AS d
                 FROM incidents i JOIN grids g ON g.id = i.grid_id
                 LEFT JOIN incident_time_limits tl ON tl.category = i.category AND tl.status = i.status
                WHERE i.status <> 'closed' AND g.code LIKE $1 || '%') x`, [COMMUNITY1]);
    expect({ step: stats.stepOverdue, deadline: stats.deadlineOverdue, either: stats.overdue }).toEqual(rows[0]);
  });

  it('督办 on either clock, each exactly once: the deadline once whatever the level, the step once per elapsed limit', async () => {
    const id = await newIncident(env, IN1, { category: 'dispute' });
    await act(env, id, { action: 'accept' }, commander.cookie);
    // The deadline has passed, the step (accepted a moment ago) has not.
    await env.db.pool.query(`UPDATE incidents SET due_at = now() - interval '1 minute' WHERE id = $1`, [id]);
    await escalateOverdue(env.db.app);
    expect(await escalations(id)).toEqual([{ note: '超过总时限：督办升级至街道', level: 1 }]);
    expect((await env.db.pool.query('SELECT deadline_escalated_at IS NOT NULL AS d, escalated_at IS NULL AS s FROM incidents WHERE id = $1', [id])).rows[0])
      .toEqual({ d: true, s: true });
    await escalateOverdue(env.db.app);
    expect(await escalations(id)).toHaveLength(1);

    // Now the step limit elapses too: one more, for the step only.
    await env.db.pool.query(`UPDATE incidents SET status_since = now() - make_interval(mins => $2 + 1) WHERE id = $1`, [id, await stepLimit('dispute', 'accepted')]);
    await escalateOverdue(env.db.app);
    await escalateOverdue(env.db.app);
    expect(await escalations(id)).toEqual([
      { note: '超过总时限：督办升级至街道', level: 1 },
      { note: '环节超时：督办升级至区', level: 2 },
    ]);
    const ev = await env.db.pool.query(`SELECT data FROM live_events WHERE entity_id = $1 AND data->>'action' = 'escalate' ORDER BY id`, [id]);
    expect(ev.rows.map((r) => r.data.changes.escalationLevel)).toEqual([{ from: 0, to: 1 }, { from: 1, to: 2 }]);
  });

  it('both clocks at once: one round, one level, one row naming both; at the district a passing deadline is still recorded, once', async () => {
    const both = await newIncident(env, IN1, { category: 'appeal' });
    await reportedEarlier(both, (await overallLimit('appeal')) + 1);
    await escalateOverdue(env.db.app);
    expect(await escalations(both)).toEqual([{ note: '环节超时；超过总时限：督办升级至街道', level: 1 }]);

    const top = await newIncident(env, IN1, { category: 'appeal' });
    await env.db.pool.query(`UPDATE incidents SET escalation_level = 2, escalated_at = now() WHERE id = $1`, [top]);
    await env.db.pool.query(`UPDATE incidents SET due_at = now() - interval '1 minute' WHERE id = $1`, [top]);
    await escalateOverdue(env.db.app);
    await escalateOverdue(env.db.app);
    expect(await escalations(top)).toEqual([{ note: '超过总时限：督办升级至区', level: 2 }]);
    const ev = await env.db.pool.query(`SELECT data FROM live_events WHERE entity_id = $1 AND data->>'action' = 'escalate'`, [top]);
    expect(ev.rows.map((r) => r.data.changes.escalationLevel)).toEqual([{ from: 2, to: 2 }]);
  });

  it('a closed incident has neither clock; reopened, its deadline is the first one (already passed: no second 督办)', async () => {
    const id = await newIncident(env, IN1, { category: 'sanitation' });
    await act(env, id, { action: 'close', note: '重复上报' }, commander.cookie);
    expect(await props(id)).toMatchObject({ step: null, stepDueAt: null, dueAt: null, overdue: false });
    await env.db.pool.query(`UPDATE incidents SET due_at = now() - interval '1 minute', deadline_escalated_at = now() - interval '2 minutes' WHERE id = $1`, [id]);
    await act(env, id, { action: 'reopen', note: '再次反映' }, commander.cookie);
    const p = await props(id);
    expect(p).toMatchObject({ step: 'accept', deadlineOverdue: true, stepOverdue: false });
    await escalateOverdue(env.db.app);
    expect(await escalations(id)).toEqual([]);
    // The grid worker reads the same clocks.
    expect((await call(env, 'GET', `/api/incidents/${id}`, { cookie: worker.cookie })).statusCode).toBe(200);
  });

  it('挂起 stops both clocks: nothing runs out or escalates meanwhile; on resumption the time suspended is added to both, exactly', async () => {
    const id = await newIncident(env, IN1, { category: 'sanitation' });
    // Assigned to the worker's responder: the handler suspends, with a reason (required).
    await env.db.pool.query(`UPDATE incidents SET status = 'in_progress', assignee_responder_id = $2, status_since = now() WHERE id = $1`, [id, worker.responderId]);
    expect((await act(env, id, { action: 'suspend' }, worker.cookie)).json()).toMatchObject({ status: 422, code: 'NOTE_REQUIRED' });
    const before = await props(id);
    const suspended = await act(env, id, { action: 'suspend', note: '等待居民在家时上门' }, worker.cookie);
    expect(suspended.statusCode, suspended.body).toBe(200);
    expect(suspended.json().properties).toMatchObject({ status: 'in_progress', allowedActions: ['resume'] });
    expect(suspended.json().properties.suspendedSince).not.toBeNull();

    // Three days pass while suspended: longer than the step and the overall limits.
    const days3 = 3 * 24 * 60 + 5;
    await env.db.pool.query(`UPDATE incidents SET suspended_since = suspended_since - make_interval(mins => $2) WHERE id = $1`, [id, days3]);
    const during = await props(id);
    expect(during).toMatchObject({ stepOverdue: false, deadlineOverdue: false, overdue: false });
    // The clocks stand still: each due time has moved on with the time suspended.
    expect(minutes(during.dueAt, before.dueAt)).toBeCloseTo(days3, 0);
    expect(minutes(during.stepDueAt, before.stepDueAt)).toBeCloseTo(days3, 0);
    await escalateOverdue(env.db.app);
    expect(await escalations(id)).toEqual([]);
    // Listed and counted apart.
    const listed = (await call(env, 'GET', '/api/incidents?suspended=true&limit=500', { cookie: commander.cookie })).json();
    expect(listed.features.map((f: { id: string }) => f.id)).toContain(id);
    expect((await call(env, 'GET', '/api/incidents?suspended=false&limit=500', { cookie: commander.cookie })).json().features.map((f: { id: string }) => f.id)).not.toContain(id);
    const { rows: [n] } = await env.db.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE i.suspended_since IS NOT NULL AND i.status <> 'closed' AND g.code LIKE $1 || '%'`, [COMMUNITY1]);
    expect((await call(env, 'GET', '/api/incidents/stats', { cookie: commander.cookie })).json().suspended).toBe(n.n);

    // Another grid worker may not resume it; the one who suspended it may.
    const other = await session(env, 'grid_worker', GRID1, { at: IN1 });
    expect((await act(env, id, { action: 'resume' }, other.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    const { rows: [stored] } = await env.db.pool.query<{ due: Date; since: Date }>('SELECT due_at AS due, suspended_since AS since FROM incidents WHERE id = $1', [id]);
    const resumed = await act(env, id, { action: 'resume' }, worker.cookie);
    expect(resumed.statusCode, resumed.body).toBe(200);
    const { rows: [after] } = await env.db.pool.query<{ due: Date; paused: number; total: number; at: Date }>(
      `SELECT i.due_at AS due, extract(epoch FROM i.step_paused)::float8 AS paused, extract(epoch FROM i.suspended_total)::float8 AS total,
              (SELECT t.at FROM incident_transitions t WHERE t.incident_id = i.id AND t.action = 'resume') AS at
         FROM incidents i WHERE i.id = $1`, [id]);
    // Exactly the time suspended (the resumption's statement time; the timeline row's clock is a moment later).
    const suspendedMs = after.due.getTime() - stored.due.getTime();
    expect(Math.abs(after.at.getTime() - stored.since.getTime() - suspendedMs)).toBeLessThan(1000);
    expect(after.paused * 1000).toBeCloseTo(suspendedMs, -1);
    expect(after.total * 1000).toBeCloseTo(suspendedMs, -1);
    const p = await props(id);
    expect(p).toMatchObject({ suspendedSince: null, stepOverdue: false, deadlineOverdue: false, allowedActions: ['resolve', 'reject', 'suspend', 'request_extension'] });
    expect(minutes(p.dueAt, before.dueAt)).toBeCloseTo(days3, 0);
    // The next step starts with nothing paused.
    expect((await act(env, id, { action: 'resolve' }, worker.cookie)).statusCode).toBe(200);
    expect((await env.db.pool.query(`SELECT extract(epoch FROM step_paused)::int AS s FROM incidents WHERE id = $1`, [id])).rows[0].s).toBe(0);
    const timeline = (await props(id)).timeline.map((t: { action: string; note: string | null }) => [t.action, t.note]);
    expect(timeline.slice(-3)).toEqual([['suspend', '等待居民在家时上门'], ['resume', null], ['resolve', null]]);
  });

  it('延期: the handler asks (reason and minutes), the command centre grants — the deadline moves by exactly the minutes granted — or refuses', async () => {
    const id = await newIncident(env, IN1, { category: 'dispute' });
    await env.db.pool.query(`UPDATE incidents SET status = 'in_progress', assignee_responder_id = $2, status_since = now() WHERE id = $1`, [id, worker.responderId]);
    const before = await props(id);
    expect(before).toMatchObject({ extensionMinutes: 0, pendingExtension: null });
    // Bad asks write nothing: no reason, no minutes, minutes out of range, minutes on another action.
    expect((await act(env, id, { action: 'request_extension', minutes: 120 }, worker.cookie)).json()).toMatchObject({ status: 422, code: 'NOTE_REQUIRED' });
    expect((await act(env, id, { action: 'request_extension', note: '需要协调物业' }, worker.cookie)).statusCode).toBe(400);
    expect((await act(env, id, { action: 'request_extension', note: '需要协调物业', minutes: 0 }, worker.cookie)).statusCode).toBe(400);
    expect((await act(env, id, { action: 'resolve', minutes: 5 }, worker.cookie)).statusCode).toBe(400);
    // Nothing to answer yet.
    expect((await act(env, id, { action: 'approve_extension', minutes: 60 }, commander.cookie)).json()).toMatchObject({ status: 409, code: 'INVALID_TRANSITION', extensionPending: false });

    const asked = await act(env, id, { action: 'request_extension', note: '需要协调物业', minutes: 120 }, worker.cookie);
    expect(asked.statusCode, asked.body).toBe(200);
    expect(asked.json().properties).toMatchObject({ status: 'in_progress', pendingExtension: { minutes: 120 }, dueAt: before.dueAt });
    // One request at a time; the handler may not answer it.
    expect((await act(env, id, { action: 'request_extension', note: '再要一些', minutes: 30 }, worker.cookie)).json()).toMatchObject({ status: 409, extensionPending: true });
    expect((await act(env, id, { action: 'approve_extension', minutes: 120 }, worker.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await props(id)).allowedActions).toEqual(expect.arrayContaining(['approve_extension', 'refuse_extension']));

    // Granted, less than asked: exactly those minutes.
    const granted = await act(env, id, { action: 'approve_extension', minutes: 90, note: '同意延期一个半小时' }, commander.cookie);
    expect(granted.statusCode, granted.body).toBe(200);
    const p = granted.json().properties;
    expect(p).toMatchObject({ pendingExtension: null, extensionMinutes: 90 });
    expect(minutes(p.dueAt, before.dueAt)).toBe(90);
    expect(minutes(p.dueAt, p.reportedAt)).toBe((await overallLimit('dispute')) + 90);
    // Asked again, refused (a reason required): the deadline stays.
    await act(env, id, { action: 'request_extension', note: '材料未到', minutes: 60 }, worker.cookie);
    expect((await act(env, id, { action: 'refuse_extension' }, commander.cookie)).json()).toMatchObject({ status: 422, code: 'NOTE_REQUIRED' });
    const refused = await act(env, id, { action: 'refuse_extension', note: '已延期过一次' }, commander.cookie);
    expect(refused.statusCode, refused.body).toBe(200);
    expect(refused.json().properties).toMatchObject({ pendingExtension: null, extensionMinutes: 90, dueAt: p.dueAt });
    // A reassignment later does not take the extension back.
    await act(env, id, { action: 'reject', note: '需要其他部门' }, worker.cookie);
    await call(env, 'POST', `/api/incidents/${id}/dispatch`, { cookie: commander.cookie, body: { departmentCode: 'housing' } });
    expect((await props(id)).dueAt).toBe(p.dueAt);
    const timeline = (await props(id)).timeline
      .filter((t: { action: string }) => t.action.endsWith('_extension'))
      .map((t: { action: string; minutes: number | null; note: string | null }) => [t.action, t.minutes, t.note]);
    expect(timeline).toEqual([
      ['request_extension', 120, '需要协调物业'], ['approve_extension', 90, '同意延期一个半小时'],
      ['request_extension', 60, '材料未到'], ['refuse_extension', null, '已延期过一次'],
    ]);
  });
});
