import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, call, COMMUNITY1, forceStatus, GRID1, GRID3, IN1, IN2, IN3, newIncident, responder, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

const dispatch = (id: string, body: Record<string, unknown>, cookie = commander.cookie) =>
  call(env, 'POST', `/api/incidents/${id}/dispatch`, { cookie, body });
const responderStatus = async (id: string) => (await env.db.pool.query('SELECT status FROM responders WHERE id = $1', [id])).rows[0].status;
const events = async (entityId: string) =>
  (await env.db.pool.query<{ type: string; data: Record<string, unknown> }>('SELECT type, data FROM live_events WHERE entity_id = $1 ORDER BY id', [entityId])).rows;

describe('POST /api/incidents/{id}/dispatch', () => {
  it('10 parallel dispatches of one responder to 10 incidents: exactly one wins, nothing of the losers is written', async () => {
    const r = await responder(env.db.pool, GRID1, IN1);
    const ids = await Promise.all(Array.from({ length: 10 }, (_, i) => newIncident(env, IN1, { description: `race ${i}` })));
    const res = await Promise.all(ids.map((id) => dispatch(id, { responderId: r })));
    const codes = res.map((x) => x.statusCode).sort();
    expect(codes).toEqual([200, ...Array(9).fill(409)]);
    for (const x of res.filter((y) => y.statusCode === 409)) expect(x.json().code).toBe('RESPONDER_UNAVAILABLE');
    const winner = ids[res.findIndex((x) => x.statusCode === 200)];
    expect(await responderStatus(r)).toBe('busy');
    const { rows } = await env.db.pool.query<{ id: string; status: string; version: number; assignee: string | null; steps: number }>(
      `SELECT i.id::text, i.status, i.version, i.assignee_responder_id::text AS assignee,
              (SELECT count(*)::int FROM incident_transitions t WHERE t.incident_id = i.id) AS steps
         FROM incidents i WHERE i.id = ANY ($1::uuid[])`,
      [ids],
    );
    for (const row of rows) {
      if (row.id === winner) expect(row).toMatchObject({ status: 'dispatched', version: 2, assignee: r, steps: 3 });
      else expect(row).toMatchObject({ status: 'reported', version: 1, assignee: null, steps: 1 });
    }
    // One responder.status event (busy), one incident.updated event, both for the winner only.
    expect((await events(r)).map((e) => [e.type, e.data.status, e.data.from])).toEqual([['responder.status', 'busy', 'available']]);
    const updates = await env.db.pool.query(`SELECT entity_id::text FROM live_events WHERE type = 'incident.updated' AND entity_id = ANY ($1::uuid[])`, [ids]);
    expect(updates.rows).toEqual([{ entity_id: winner }]);
  });

  it('an off-duty, busy, offline, unknown or out-of-area responder is 409 RESPONDER_UNAVAILABLE', async () => {
    const offDuty = await responder(env.db.pool, GRID1, IN1);
    await env.db.pool.query(`UPDATE responders SET status = 'off_duty' WHERE id = $1`, [offDuty]);
    const offline = await responder(env.db.pool, GRID1, IN1);
    await env.db.pool.query(`UPDATE responders SET position_at = now() - interval '16 minutes' WHERE id = $1`, [offline]);
    const noPosition = await responder(env.db.pool, GRID1, IN1);
    await env.db.pool.query(`UPDATE responders SET position = NULL, position_at = NULL WHERE id = $1`, [noPosition]);
    const elsewhere = await responder(env.db.pool, GRID3, IN3); // community 2: outside the commander's area
    for (const r of [offDuty, offline, noPosition, elsewhere, '00000000-0000-4000-8000-000000000000']) {
      const id = await newIncident(env);
      const res = await dispatch(id, { responderId: r });
      expect(res.statusCode, r).toBe(409);
      expect(res.json().code).toBe('RESPONDER_UNAVAILABLE');
      expect((await env.db.pool.query('SELECT status FROM incidents WHERE id = $1', [id])).rows[0].status).toBe('reported');
    }
    // A stale but not offline responder (10 minutes) may be dispatched.
    const stale = await responder(env.db.pool, GRID1, IN1);
    await env.db.pool.query(`UPDATE responders SET position_at = now() - interval '10 minutes' WHERE id = $1`, [stale]);
    expect((await dispatch(await newIncident(env), { responderId: stale })).statusCode).toBe(200);
  });

  it('reassigning frees the previous responder unless it has other active work', async () => {
    const r1 = await responder(env.db.pool, GRID1, IN1);
    const r2 = await responder(env.db.pool, GRID1, IN1);
    const r3 = await responder(env.db.pool, GRID1, IN1);
    const id = await newIncident(env);
    expect((await dispatch(id, { responderId: r1 })).statusCode).toBe(200);
    const res = await dispatch(id, { responderId: r2, reassign: true, note: '改派' });
    expect(res.statusCode).toBe(200);
    expect(res.json().properties).toMatchObject({ status: 'dispatched', assignee: { responderId: r2 } });
    expect(await responderStatus(r1)).toBe('available');
    expect(await responderStatus(r2)).toBe('busy');
    expect((await events(r1)).map((e) => e.data.status)).toEqual(['busy', 'available']);
    const upd = (await events(id)).filter((e) => e.type === 'incident.updated').at(-1)!;
    expect(upd.data).toMatchObject({ action: 'dispatch', changes: { assigneeResponderId: { from: r1, to: r2 } } });
    // r2 also works on another incident: moving this one to r3 keeps r2 busy.
    const other = await newIncident(env);
    await forceStatus(env.db.pool, other, 'in_progress', r2);
    expect((await dispatch(id, { responderId: r3, reassign: true, note: '再次改派' })).statusCode).toBe(200);
    expect(await responderStatus(r2)).toBe('busy');
    expect(await responderStatus(r3)).toBe('busy');
  });

  it('dispatch over an assignee is a reassignment: without reassign 409 ALREADY_ASSIGNED, without a note 422 NOTE_REQUIRED, nothing written; with both it is on the timeline', async () => {
    const r1 = await responder(env.db.pool, GRID1, IN1);
    const r2 = await responder(env.db.pool, GRID1, IN1);
    const id = await newIncident(env);
    expect((await dispatch(id, { responderId: r1 })).statusCode).toBe(200);
    const state = async () =>
      (await env.db.pool.query(
        `SELECT i.version, i.assignee_responder_id::text AS assignee, i.assignee_department AS department,
                (SELECT count(*)::int FROM incident_transitions t WHERE t.incident_id = i.id) AS steps,
                (SELECT status FROM responders WHERE id = $2) AS r2
           FROM incidents i WHERE i.id = $1`, [id, r2])).rows[0];
    const before = await state();
    for (const [body, status, code] of [
      [{ responderId: r2 }, 409, 'ALREADY_ASSIGNED'],
      [{ departmentCode: 'civil_affairs', note: '转部门' }, 409, 'ALREADY_ASSIGNED'],
      [{ responderId: r2, reassign: false, note: '改派' }, 409, 'ALREADY_ASSIGNED'],
      [{ responderId: r2, reassign: true }, 422, 'NOTE_REQUIRED'],
      [{ responderId: r2, reassign: true, note: '   ' }, 422, 'NOTE_REQUIRED'],
    ] as const) {
      const res = await dispatch(id, body);
      expect(res.statusCode, JSON.stringify(body)).toBe(status);
      expect(res.json().code).toBe(code);
      expect(await state()).toEqual(before);
    }
    // The same rule through the transitions endpoint.
    const viaAction = await act(env, id, { action: 'dispatch', responderId: r2 }, commander.cookie);
    expect(viaAction.statusCode).toBe(409);
    expect(viaAction.json()).toMatchObject({ code: 'ALREADY_ASSIGNED', assignee: { responderId: r1, departmentCode: null } });
    // With both: reassigned, the reason on the timeline.
    const ok = await dispatch(id, { responderId: r2, reassign: true, note: '原网格员请假，改派' });
    expect(ok.statusCode).toBe(200);
    const detail = (await call(env, 'GET', `/api/incidents/${id}`, { cookie: commander.cookie })).json();
    const last = detail.properties.timeline.at(-1);
    expect(last).toMatchObject({ action: 'dispatch', fromStatus: 'dispatched', toStatus: 'dispatched', note: '原网格员请假，改派', responder: { id: r2 } });
    // A dispatch after a rejection is no reassignment: the handler gave it back.
    expect((await act(env, id, { action: 'reject', note: '不归我管' }, commander.cookie)).statusCode).toBe(200);
    expect((await dispatch(id, { departmentCode: 'civil_affairs' })).statusCode).toBe(200);
  });

  it('resolve and reject set the assignee free when it has no other active incident', async () => {
    const r = await responder(env.db.pool, GRID1, IN1);
    const a = await newIncident(env);
    expect((await dispatch(a, { responderId: r })).statusCode).toBe(200);
    expect((await act(env, a, { action: 'start' }, commander.cookie)).statusCode).toBe(200);
    expect((await act(env, a, { action: 'resolve' }, commander.cookie)).statusCode).toBe(200);
    expect(await responderStatus(r)).toBe('available');
    const b = await newIncident(env);
    expect((await dispatch(b, { responderId: r })).statusCode).toBe(200);
    const c = await newIncident(env);
    await forceStatus(env.db.pool, c, 'dispatched', r);
    expect((await act(env, b, { action: 'reject', note: '不归我管' }, commander.cookie)).statusCode).toBe(200);
    expect(await responderStatus(r)).toBe('busy'); // still has c
    expect((await act(env, c, { action: 'reject', note: '也不归我管' }, commander.cookie)).statusCode).toBe(200);
    expect(await responderStatus(r)).toBe('available');
  });

  it('dispatches to a department, whose users then see and handle it; other departments may not', async () => {
    const housing = await session(env, 'department', '310101', { department: 'housing' });
    const greening = await session(env, 'department', '310101', { department: 'greening' });
    const id = await newIncident(env, IN2, { description: '楼道漏水' });
    const res = await dispatch(id, { departmentCode: 'housing' });
    expect(res.statusCode).toBe(200);
    expect(res.json().properties).toMatchObject({ status: 'dispatched', assignee: null, assigneeDepartment: 'housing' });
    const mine = await call(env, 'GET', '/api/incidents?assignedToMe=true', { cookie: housing.cookie });
    expect(mine.json().features.map((f: { id: string }) => f.id)).toEqual([id]);
    expect((await call(env, 'GET', '/api/incidents?assignedToMe=true', { cookie: greening.cookie })).json().numberMatched).toBe(0);
    expect((await call(env, 'GET', '/api/incidents?department=housing')).json().features.map((f: { id: string }) => f.id)).toEqual([id]);
    expect((await act(env, id, { action: 'start' }, greening.cookie)).statusCode).toBe(403);
    const started = await act(env, id, { action: 'start' }, housing.cookie);
    expect(started.statusCode).toBe(200);
    expect(started.json().properties.allowedActions).toEqual(['resolve', 'reject', 'suspend', 'request_extension']);
  });

  it('refuses a target that is neither or both, an unknown department, and dispatchers without incident.dispatch', async () => {
    const id = await newIncident(env);
    const r = await responder(env.db.pool, GRID1, IN1);
    expect((await dispatch(id, {})).json().code).toBe('VALIDATION_FAILED');
    expect((await dispatch(id, { responderId: r, departmentCode: 'housing' })).json().code).toBe('VALIDATION_FAILED');
    expect((await dispatch(id, { departmentCode: 'space_agency' })).json()).toMatchObject({ status: 422, code: 'UNKNOWN_DEPARTMENT' });
    expect((await dispatch(id, { responderId: 'abc' })).statusCode).toBe(400);
    const worker = await session(env, 'grid_worker', GRID1);
    expect((await dispatch(id, { responderId: r }, worker.cookie)).statusCode).toBe(403);
    // Through the transitions endpoint a grid worker may not dispatch either (command only).
    expect((await act(env, id, { action: 'dispatch', responderId: r }, worker.cookie)).statusCode).toBe(403);
    expect(await responderStatus(r)).toBe('available');
    expect((await env.db.pool.query('SELECT status FROM incidents WHERE id = $1', [id])).rows[0].status).toBe('reported');
  });

  it('a grid worker dispatched outside its own grid sees its assignment and works it', async () => {
    const worker = await session(env, 'grid_worker', GRID1, { at: IN1 });
    const id = await newIncident(env, IN2);
    expect((await call(env, 'GET', `/api/incidents/${id}`, { cookie: worker.cookie })).statusCode).toBe(404);
    expect((await dispatch(id, { responderId: worker.responderId })).statusCode).toBe(200);
    expect((await call(env, 'GET', `/api/incidents/${id}`, { cookie: worker.cookie })).statusCode).toBe(200);
    expect((await act(env, id, { action: 'start' }, worker.cookie)).statusCode).toBe(200);
    const resolved = await act(env, id, { action: 'resolve', note: '已处理' }, worker.cookie);
    expect(resolved.statusCode).toBe(200);
    expect(resolved.json().properties.timeline.map((t: { action: string; actor: { id: string } }) => [t.action, t.actor.id])).toEqual([
      ['report', expect.any(String)], ['accept', expect.any(String)], ['dispatch', expect.any(String)], ['start', worker.id], ['resolve', worker.id],
    ]);
    expect(await responderStatus(worker.responderId!)).toBe('available');
  });
});
