import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, call, escalateOverdue, COMMUNITY1, COMMUNITY2, GRID1, GRID2, GRID3, IN1, IN2, IN3, newIncident, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let commander: Session; // community 1
let commander2: Session; // community 2

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
  commander2 = await session(env, 'commander', COMMUNITY2);
});
afterAll(async () => {
  await env?.close();
});

const list = async (query: string, cookie?: string) => {
  const res = await call(env, 'GET', `/api/incidents${query}`, { cookie });
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as { features: { id: string; properties: Record<string, unknown> }[]; numberMatched: number; numberReturned: number };
};
const ids = (fc: { features: { id: string }[] }) => fc.features.map((f) => f.id);

describe('GET /api/incidents', () => {
  let a: string; let b: string; let c: string; let d: string;
  beforeAll(async () => {
    a = await newIncident(env, IN1, { category: 'fire', priority: 'urgent', description: '厨房起火 100% 真实' });
    b = await newIncident(env, IN2, { category: 'dispute', priority: 'low', description: 'A_B 邻里纠纷' });
    c = await newIncident(env, IN3, { category: 'dispute', priority: 'high', description: '第二社区的纠纷' });
    d = await newIncident(env, IN1, { category: 'sanitation', description: 'AxB 垃圾' });
    await env.db.pool.query(`UPDATE incidents SET reported_at = now() - interval '3 days', address = '南京东路1号' WHERE id = $1`, [d]);
  });

  it('filters by status, category, priority, grid prefix and reportedAt range; pages with numberMatched', async () => {
    const disputes = await env.db.pool.query<{ id: string }>(`SELECT id::text FROM incidents WHERE category = 'dispute' ORDER BY reported_at DESC, id DESC`);
    expect(ids(await list('?category=dispute&limit=500'))).toEqual(disputes.rows.map((r) => r.id));
    expect(ids(await list('?category=dispute&limit=500'))).toEqual(expect.arrayContaining([b, c]));
    expect(ids(await list('?priority=urgent,high&limit=500'))).toEqual(expect.arrayContaining([a, c]));
    expect((await list('?priority=urgent,high&limit=500')).features.every((f) => ['urgent', 'high'].includes(f.properties.priority as string))).toBe(true);
    expect(ids(await list(`?gridCode=${GRID3}`))).toEqual([c]);
    expect(ids(await list(`?gridCode=${COMMUNITY2}`))).toEqual([c]);
    const from = new Date(Date.now() - 4 * 86_400_000).toISOString();
    const to = new Date(Date.now() - 2 * 86_400_000).toISOString();
    expect(ids(await list(`?from=${from}&to=${to}`))).toEqual([d]);
    await act(env, b, { action: 'accept' });
    expect(ids(await list('?status=accepted'))).toEqual([b]);
    expect(ids(await list('?status=accepted,rejected'))).toEqual([b]);
    const all = await list('?limit=500');
    const { rows } = await env.db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM incidents');
    expect(all.numberMatched).toBe(rows[0].n);
    const page = await list('?limit=2&offset=1');
    expect(page).toMatchObject({ numberMatched: rows[0].n, numberReturned: 2 });
    expect(ids(page)).toEqual(ids(all).slice(1, 3));
  });

  it('sorts by -reportedAt (default), reportedAt, -priority and dueAt', async () => {
    const times = (fc: Awaited<ReturnType<typeof list>>) => fc.features.map((f) => Date.parse(f.properties.reportedAt as string));
    const desc = times(await list('?limit=500'));
    expect(desc).toEqual([...desc].sort((x, y) => y - x));
    const asc = times(await list('?sort=reportedAt&limit=500'));
    expect(asc).toEqual([...asc].sort((x, y) => x - y));
    const rank = { low: 0, normal: 1, high: 2, urgent: 3 } as Record<string, number>;
    const pr = (await list('?sort=-priority&limit=500')).features.map((f) => rank[f.properties.priority as string]);
    expect(pr).toEqual([...pr].sort((x, y) => y - x));
    const due = (await list('?sort=dueAt&limit=500')).features.map((f) => f.properties.dueAt as string | null);
    const withDue = due.filter((x): x is string => x !== null).map(Date.parse);
    expect(withDue).toEqual([...withDue].sort((x, y) => x - y));
    expect(due.slice(withDue.length).every((x) => x === null)).toBe(true);
  });

  it('searches description and address literally: % and _ are not wildcards', async () => {
    expect(ids(await list(`?q=${encodeURIComponent('100%')}`))).toEqual([a]);
    expect(ids(await list(`?q=${encodeURIComponent('A_B')}`))).toEqual([b]);
    expect(ids(await list(`?q=${encodeURIComponent('%')}`))).toEqual([a]);
    expect(ids(await list(`?q=${encodeURIComponent('南京东路')}`))).toEqual([d]);
    expect((await list(`?q=${encodeURIComponent("' OR 1=1 --")}`)).numberMatched).toBe(0);
  });

  it('refuses bad parameters with 400', async () => {
    for (const q of ['?limit=0', '?limit=501', '?status=lost', '?priority=extreme', '?from=yesterday', '?sort=name', '?gridCode=abc', '?offset=-1']) {
      const res = await call(env, 'GET', `/api/incidents${q}`);
      expect(res.statusCode, q).toBe(400);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    }
    expect((await call(env, 'GET', '/api/incidents?limit=501')).json().code).toBe('INVALID_LIMIT');
  });

  it('is scoped: a community-2 commander sees only community 2 and gets 404 for community 1', async () => {
    expect(ids(await list('?limit=500', commander2.cookie))).toEqual([c]);
    for (const res of [
      await call(env, 'GET', `/api/incidents/${a}`, { cookie: commander2.cookie }),
      await act(env, a, { action: 'accept' }, commander2.cookie),
      await call(env, 'POST', `/api/incidents/${a}/dispatch`, { cookie: commander2.cookie, body: { departmentCode: 'housing' } }),
      await env.app.inject({ method: 'POST', url: `/api/incidents/${a}/photos`, headers: { cookie: commander2.cookie, 'content-type': 'image/jpeg' }, payload: Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]) }),
    ]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
    expect((await env.db.pool.query('SELECT status, version FROM incidents WHERE id = $1', [a])).rows[0]).toEqual({ status: 'reported', version: 1 });
    const gridWorker = await session(env, 'grid_worker', GRID2);
    expect(ids(await list('?limit=500', gridWorker.cookie))).toEqual(expect.arrayContaining([b]));
    expect((await list('?limit=500', gridWorker.cookie)).features.every((f) => f.properties.gridCode === GRID2)).toBe(true);
  });

  it('never lists the reporter contact', async () => {
    await newIncident(env, IN1, { reporterContact: '王先生 13800000000', description: '有联系人' });
    const body = JSON.stringify(await list('?limit=500'));
    expect(body).not.toContain('13800000000');
    expect(body).not.toContain('reporterContact');
  });
});

describe('GET /api/incidents/stats', () => {
  it('counts open, overdue, urgent open, escalated and by status in the caller\'s area, as SQL counts them', async () => {
    const res = await call(env, 'GET', '/api/incidents/stats', { cookie: commander.cookie });
    expect(res.statusCode).toBe(200);
    const { rows } = await env.db.pool.query(
      `SELECT count(*) FILTER (WHERE i.status <> 'closed')::int AS open,
              count(*) FILTER (WHERE i.status <> 'closed' AND i.priority = 'urgent')::int AS "urgentOpen",
              count(*) FILTER (WHERE i.status <> 'closed' AND i.escalation_level > 0)::int AS escalated,
              count(*) FILTER (WHERE i.status <> 'closed' AND now() > i.status_since + make_interval(mins => l.limit_minutes))::int AS overdue
         FROM incidents i JOIN grids g ON g.id = i.grid_id
         LEFT JOIN incident_time_limits l ON l.category = i.category AND l.status = i.status
        WHERE g.code LIKE $1 || '%'`,
      [COMMUNITY1],
    );
    expect(res.json()).toMatchObject(rows[0]);
    const by = await env.db.pool.query<{ status: string; n: number }>(
      `SELECT i.status, count(*)::int AS n FROM incidents i JOIN grids g ON g.id = i.grid_id WHERE g.code LIKE $1 || '%' GROUP BY 1`, [COMMUNITY1]);
    for (const r of by.rows) expect(res.json().byStatus[r.status]).toBe(r.n);
    expect(Object.keys(res.json().byStatus)).toHaveLength(9);
    const other = (await call(env, 'GET', '/api/incidents/stats', { cookie: commander2.cookie })).json();
    expect(other.open).toBe(1);
  });
});

describe('GET /api/incidents/{id}: reporter contact', () => {
  it('is given to incident.sensitive roles only, and each read is audited', async () => {
    const id = await newIncident(env, IN1, { reporterContact: '李女士 13912345678' });
    const audits = async () => (await env.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'incident.read_contact' AND entity_id = $1`, [id])).rows[0].n;
    const res = await call(env, 'GET', `/api/incidents/${id}`, { cookie: commander.cookie });
    expect(res.json().properties.reporterContact).toBe('李女士 13912345678');
    expect(await audits()).toBe(1);
    const row = (await env.db.pool.query(`SELECT actor_id::text, entity FROM audit_log WHERE action = 'incident.read_contact' AND entity_id = $1`, [id])).rows[0];
    expect(row).toEqual({ actor_id: commander.id, entity: 'incident' });
    // A second read by the same user within 15 minutes is counted on that row (issue 10 item 8; tests/auth/audit.test.ts).
    await call(env, 'GET', `/api/incidents/${id}`, { cookie: commander.cookie });
    const readCount = async () => (await env.db.pool.query<{ n: number }>(`SELECT sum(count)::int AS n FROM audit_log WHERE action = 'incident.read_contact' AND entity_id = $1`, [id])).rows[0].n;
    expect(await audits()).toBe(1);
    expect(await readCount()).toBe(2);
    for (const role of ['grid_worker', 'department', 'viewer', 'planner'] as const) {
      const s = await session(env, role, role === 'grid_worker' ? GRID1 : COMMUNITY1);
      const body = (await call(env, 'GET', `/api/incidents/${id}`, { cookie: s.cookie })).json();
      expect(body.properties).not.toHaveProperty('reporterContact');
    }
    expect(await audits()).toBe(1);
    expect(await readCount()).toBe(2);
  });
});

describe('overdue and escalation (督办)', () => {
  const limit = async (category: string, status: string) =>
    (await env.db.pool.query<{ m: number }>('SELECT limit_minutes AS m FROM incident_time_limits WHERE category = $1 AND status = $2', [category, status])).rows[0].m;

  it('an overdue incident is flagged, listed and escalated once per elapsed limit, up to the district, with timeline rows and events', async () => {
    const id = await newIncident(env, IN1, { category: 'sanitation', description: '超时的垃圾' });
    const fresh = await newIncident(env, IN1, { category: 'sanitation', description: '新的垃圾' });
    const closed = await newIncident(env, IN1, { category: 'sanitation', description: '已结案' });
    const m = await limit('sanitation', 'reported');
    await env.db.pool.query(`UPDATE incidents SET status_since = now() - make_interval(mins => $2 + 1) WHERE id = $1`, [id, m]);
    await env.db.pool.query(`UPDATE incidents SET status = 'closed', closed_at = now(), status_since = now() - interval '30 days' WHERE id = $1`, [closed]);
    let p = (await call(env, 'GET', `/api/incidents/${id}`)).json().properties;
    expect(p).toMatchObject({ overdue: true, escalationLevel: 0 });
    expect(p).toMatchObject({ stepOverdue: true, deadlineOverdue: false });
    expect(Date.parse(p.stepDueAt)).toBeLessThan(Date.now());
    expect(Date.parse(p.dueAt)).toBeGreaterThan(Date.now());
    expect(ids(await list('?overdue=true&limit=500'))).toContain(id);
    expect(ids(await list('?overdue=true&limit=500'))).not.toContain(fresh);
    expect(ids(await list('?escalated=true&limit=500'))).not.toContain(id);

    await escalateOverdue(env.db.app);
    p = (await call(env, 'GET', `/api/incidents/${id}`)).json().properties;
    expect(p.escalationLevel).toBe(1);
    const step = p.timeline.at(-1);
    expect(step).toMatchObject({ action: 'escalate', actor: null, fromStatus: 'reported', toStatus: 'reported', escalationLevel: 1 });
    const actorName = (await env.db.pool.query(`SELECT actor_name FROM incident_transitions WHERE id = $1`, [step.id])).rows[0].actor_name;
    expect(actorName).toBe('system');
    expect(ids(await list('?escalated=true&limit=500'))).toContain(id);
    const ev = await env.db.pool.query(`SELECT data FROM live_events WHERE entity_id = $1 AND type = 'incident.updated' ORDER BY id`, [id]);
    expect(ev.rows.at(-1).data).toMatchObject({ action: 'escalate', changes: { escalationLevel: { from: 0, to: 1 } } });
    for (const other of [fresh, closed]) {
      expect((await env.db.pool.query('SELECT escalation_level FROM incidents WHERE id = $1', [other])).rows[0].escalation_level).toBe(0);
    }

    // A second round before another limit has elapsed does nothing more.
    await escalateOverdue(env.db.app);
    const steps = async () => (await env.db.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM incident_transitions WHERE incident_id = $1 AND action = 'escalate'`, [id])).rows[0].n;
    expect(await steps()).toBe(1);
    expect((await env.db.pool.query('SELECT escalation_level FROM incidents WHERE id = $1', [id])).rows[0].escalation_level).toBe(1);

    // Once another limit has passed since the escalation: to the district. Never beyond.
    await env.db.pool.query(`UPDATE incidents SET escalated_at = escalated_at - make_interval(mins => $2 + 1), status_since = status_since - make_interval(mins => $2 + 1) WHERE id = $1`, [id, m]);
    await escalateOverdue(env.db.app);
    expect((await env.db.pool.query('SELECT escalation_level FROM incidents WHERE id = $1', [id])).rows[0].escalation_level).toBe(2);
    await env.db.pool.query(`UPDATE incidents SET escalated_at = escalated_at - interval '30 days', status_since = status_since - interval '30 days' WHERE id = $1`, [id]);
    await escalateOverdue(env.db.app);
    expect((await env.db.pool.query('SELECT escalation_level FROM incidents WHERE id = $1', [id])).rows[0].escalation_level).toBe(2);
    expect(await steps()).toBe(2);
  });

  it('a step change restarts the clock: an accepted incident is not overdue until the accepted limit passes', async () => {
    const id = await newIncident(env, IN1, { category: 'sanitation' });
    await env.db.pool.query(`UPDATE incidents SET status_since = now() - interval '2 days' WHERE id = $1`, [id]);
    expect((await call(env, 'GET', `/api/incidents/${id}`)).json().properties.overdue).toBe(true);
    const res = await act(env, id, { action: 'accept' });
    expect(res.json().properties).toMatchObject({ status: 'accepted', overdue: false });
    expect(res.json().properties.step).toBe('dispatch');
    expect(Date.parse(res.json().properties.stepDueAt) - Date.parse(res.json().properties.statusSince)).toBe((await limit('sanitation', 'accepted')) * 60_000);
  });

  it('two rounds at once escalate each due incident once (one process at a time)', async () => {
    const due = await Promise.all([1, 2, 3].map(() => newIncident(env, IN1, { category: 'traffic' })));
    const m = await limit('traffic', 'reported');
    await env.db.pool.query(`UPDATE incidents SET status_since = now() - make_interval(mins => $2 + 1) WHERE id = ANY ($1::uuid[])`, [due, m]);
    await Promise.all([escalateOverdue(env.db.app), escalateOverdue(env.db.app)]);
    const { rows } = await env.db.pool.query<{ level: number; steps: number }>(
      `SELECT i.escalation_level AS level, (SELECT count(*)::int FROM incident_transitions t WHERE t.incident_id = i.id AND t.action = 'escalate') AS steps
         FROM incidents i WHERE i.id = ANY ($1::uuid[])`,
      [due],
    );
    expect(rows).toEqual([{ level: 1, steps: 1 }, { level: 1, steps: 1 }, { level: 1, steps: 1 }]);
  });
});
