/**
 * 评价 (issue 12): the last step of the lifecycle. A closed incident is rated (score 1–5, an
 * optional comment) once per closure, by the command centre of its area or the grid worker of its
 * grid; reopened and closed again, it can be rated again. Ratings are read back with the incident,
 * on its timeline and in the audit log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, call, COMMUNITY1, COMMUNITY2, GRID1, GRID2, IN1, newIncident, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session;
let worker: Session; // grid worker of grid 1
let worker2: Session; // grid worker of grid 2
let otherCommander: Session; // commander of community 2
let dept: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
  worker = await session(env, 'grid_worker', GRID1, { at: IN1 });
  worker2 = await session(env, 'grid_worker', GRID2, { at: IN1 });
  otherCommander = await session(env, 'commander', COMMUNITY2);
  dept = await session(env, 'department', '310101', { department: 'housing' });
});
afterAll(async () => {
  await env?.close();
});

const props = async (id: string, cookie = commander.cookie) => (await call(env, 'GET', `/api/incidents/${id}`, { cookie })).json().properties;
const ratingRows = async (id: string) =>
  (await env.db.pool.query('SELECT score, comment, department_code, rated_by::text AS by FROM incident_ratings WHERE incident_id = $1 ORDER BY id', [id])).rows;

/** An incident in grid 1 handled by the housing department through every step to 结案. */
async function closedIncident(): Promise<string> {
  const id = await newIncident(env, IN1, { category: 'sanitation' });
  const steps: Record<string, unknown>[] = [
    { action: 'dispatch', departmentCode: 'housing' }, { action: 'start' }, { action: 'resolve' }, { action: 'verify' }, { action: 'close' },
  ];
  for (const body of steps) {
    const res = await act(env, id, body, commander.cookie);
    if (res.statusCode !== 200) throw new Error(`${String(body.action)}: ${res.statusCode} ${res.body}`);
  }
  return id;
}

describe('评价', () => {
  it('the grid worker of the grid rates a closed incident; the rating is read back with it, on its timeline and in the audit log', async () => {
    const id = await closedIncident();
    const before = await props(id);
    expect(before.allowedActions).toEqual(['reopen', 'rate']);
    expect((await props(id, worker.cookie)).allowedActions).toEqual(['rate']);
    expect(before.ratings).toEqual([]);

    const res = await act(env, id, { action: 'rate', score: 4, comment: '  处理及时，态度很好  ', expectedVersion: before.version }, worker.cookie);
    expect(res.statusCode, res.body).toBe(200);
    const p = res.json().properties;
    expect(p).toMatchObject({ status: 'closed', version: before.version + 1, allowedActions: [] });
    expect(p.ratings).toEqual([{ score: 4, comment: '处理及时，态度很好', by: { id: worker.id, name: expect.any(String) }, at: expect.any(String) }]);
    expect(p.timeline.at(-1)).toMatchObject({ action: 'rate', fromStatus: 'closed', toStatus: 'closed', score: 4, note: '处理及时，态度很好', actor: { id: worker.id } });
    // Whoever handled what was closed is named with the rating (the department scores read it).
    expect(await ratingRows(id)).toEqual([{ score: 4, comment: '处理及时，态度很好', department_code: 'housing', by: worker.id }]);
    const audit = await env.db.pool.query(`SELECT actor_id::text AS actor, before, after FROM audit_log WHERE action = 'incident.rate' AND entity_id = $1`, [id]);
    expect(audit.rows).toEqual([{ actor: worker.id, before: { rating: null, comment: null, version: before.version }, after: { rating: 4, comment: '处理及时，态度很好', version: before.version + 1 } }]);
    // The commander sees the rating, and may not rate this closure again.
    expect((await props(id)).allowedActions).toEqual(['reopen']);
  });

  it('once per closure: a second rating is 409 ALREADY_RATED and writes nothing; reopened and closed again, it is rated again', async () => {
    const id = await closedIncident();
    expect((await act(env, id, { action: 'rate', score: 2 }, commander.cookie)).statusCode).toBe(200);
    const again = await act(env, id, { action: 'rate', score: 5, comment: '改评' }, worker.cookie);
    expect(again.statusCode).toBe(409);
    expect(again.json()).toMatchObject({ code: 'ALREADY_RATED', type: expect.any(String), title: 'Already rated' });
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await ratingRows(id)).map((r) => r.score)).toEqual([2]);

    expect((await act(env, id, { action: 'reopen', note: '居民反映问题复发' }, commander.cookie)).statusCode).toBe(200);
    // Not closed: nothing to rate.
    expect((await act(env, id, { action: 'rate', score: 3 }, worker.cookie)).json()).toMatchObject({ status: 409, code: 'INVALID_TRANSITION', currentStatus: 'reopened' });
    for (const body of [{ action: 'dispatch', departmentCode: 'housing' }, { action: 'start' }, { action: 'resolve' }, { action: 'verify' }, { action: 'close' }]) {
      expect((await act(env, id, body, commander.cookie)).statusCode).toBe(200);
    }
    const second = await act(env, id, { action: 'rate', score: 5 }, worker.cookie);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json().properties.ratings.map((r: { score: number; comment: string | null }) => [r.score, r.comment])).toEqual([[2, null], [5, null]]);
    // The two ratings name two different closures.
    const closures = await env.db.pool.query('SELECT count(DISTINCT closure_id)::int AS n FROM incident_ratings WHERE incident_id = $1', [id]);
    expect(closures.rows[0].n).toBe(2);
  });

  it('racing ratings of one closure: exactly one is taken', async () => {
    const id = await closedIncident();
    const answers = await Promise.all([3, 4, 5, 1].map((score, i) => act(env, id, { action: 'rate', score }, i % 2 ? worker.cookie : commander.cookie)));
    expect(answers.map((a) => a.statusCode).sort()).toEqual([200, 409, 409, 409]);
    expect(answers.filter((a) => a.statusCode === 409).every((a) => a.json().code === 'ALREADY_RATED')).toBe(true);
    expect(await ratingRows(id)).toHaveLength(1);
  });

  it('a retry with the same Idempotency-Key gets the stored answer; no second rating', async () => {
    const id = await closedIncident();
    const first = await act(env, id, { action: 'rate', score: 5 }, worker.cookie, 'rate-key-1');
    const retry = await act(env, id, { action: 'rate', score: 5 }, worker.cookie, 'rate-key-1');
    expect([first.statusCode, retry.statusCode]).toEqual([200, 200]);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(await ratingRows(id)).toHaveLength(1);
  });

  it.each(([
    [{ score: 0 }, 422, 'INVALID_PARAMETER'],
    [{ score: 6 }, 422, 'INVALID_PARAMETER'],
    [{ score: -3 }, 422, 'INVALID_PARAMETER'],
    [{ score: 3.5 }, 400, undefined],
    [{ score: '4' }, 400, undefined],
    [{ score: null }, 400, undefined],
    [{}, 400, undefined],
    [{ score: 4, note: '用 comment' }, 400, undefined],
    [{ score: 4, comment: '长'.repeat(2001) }, 400, undefined],
    [{ score: 4, comment: 7 }, 400, undefined],
  ] as [Record<string, unknown>, number, string | undefined][]).map(([extra, status, code]) => [JSON.stringify(extra).slice(0, 40), extra, status, code] as const))('rate with %s is %i and writes nothing', async (_label, extra, status, code) => {
    const id = await closedIncident();
    const before = await props(id);
    const res = await act(env, id, { action: 'rate', ...extra }, worker.cookie);
    expect(res.statusCode, res.body).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    if (code) expect(res.json()).toMatchObject({ code, parameter: 'score' });
    expect(await ratingRows(id)).toEqual([]);
    expect((await props(id)).version).toBe(before.version);
  });

  it('a score or comment on another action is 400', async () => {
    const id = await newIncident(env);
    expect((await act(env, id, { action: 'accept', score: 5 }, commander.cookie)).statusCode).toBe(400);
    expect((await act(env, id, { action: 'accept', comment: '好' }, commander.cookie)).statusCode).toBe(400);
    expect((await props(id)).status).toBe('reported');
  });

  it('who may rate: the command centre of the area and the grid worker of the grid; not a handler, not a worker of another grid', async () => {
    const id = await closedIncident();
    // The department that handled it may not rate itself.
    expect((await act(env, id, { action: 'rate', score: 5 }, dept.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    // A commander of another community does not see it.
    expect((await act(env, id, { action: 'rate', score: 5 }, otherCommander.cookie)).statusCode).toBe(404);
    // A grid worker of another grid, even as the incident's handler, may not rate it.
    const handled = await newIncident(env);
    await env.db.pool.query(`UPDATE responders SET status = 'available', position_at = now() WHERE id = $1`, [worker2.responderId]);
    for (const body of [{ action: 'dispatch', responderId: worker2.responderId }, { action: 'start' }, { action: 'resolve' }, { action: 'verify' }, { action: 'close' }]) {
      const r = await act(env, handled, body, commander.cookie);
      expect(r.statusCode, r.body).toBe(200);
    }
    expect((await props(handled, worker2.cookie)).allowedActions).toEqual([]);
    expect((await act(env, handled, { action: 'rate', score: 1 }, worker2.cookie)).json()).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect(await ratingRows(id)).toEqual([]);
    expect(await ratingRows(handled)).toEqual([]);
    // The grid worker of the incident's grid rates the other worker's handling.
    expect((await act(env, handled, { action: 'rate', score: 3 }, worker.cookie)).statusCode).toBe(200);
    expect((await ratingRows(handled))[0]).toMatchObject({ score: 3, department_code: null });
  });

  it('a closed incident without a close step on its timeline (written by hand) can be rated once', async () => {
    const id = await newIncident(env);
    await env.db.pool.query(`UPDATE incidents SET status = 'closed', closed_at = now() WHERE id = $1`, [id]);
    expect((await act(env, id, { action: 'rate', score: 4 }, commander.cookie)).statusCode).toBe(200);
    expect((await act(env, id, { action: 'rate', score: 4 }, commander.cookie)).json().code).toBe('ALREADY_RATED');
    // Even if the row's flag were lost, the database holds one rating per closure.
    await env.db.pool.query(`UPDATE incidents SET closure_rated = false WHERE id = $1`, [id]);
    expect((await act(env, id, { action: 'rate', score: 2 }, commander.cookie)).json()).toMatchObject({ status: 409, code: 'ALREADY_RATED' });
    expect(await ratingRows(id)).toHaveLength(1);
  });
});
