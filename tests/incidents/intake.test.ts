import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { purgeExpiredKeys } from '../../server/src/write/idempotency.repository.js';
import { act, call, COMMUNITY1, GRID1, GRID2, IN1, IN2, newIncident, report, session, setupEnv, type Env, type Session } from './support.js';

let env: Env;
let worker: Session; // grid worker of grid 1
let commander: Session; // commander of community 1

beforeAll(async () => {
  env = await setupEnv();
  worker = await session(env, 'grid_worker', GRID1);
  commander = await session(env, 'commander', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

const count = async (sql = 'SELECT count(*)::int AS n FROM incidents', params: unknown[] = []) =>
  (await env.db.pool.query<{ n: number }>(sql, params)).rows[0].n;

/** Independent PostGIS: the grids whose interior holds the point, and the other grids within 30 geodesic metres. */
async function oracle(lon: number, lat: number) {
  const { rows } = await env.db.pool.query<{ contains: string[]; covers: string[]; within30: string[] }>(
    `WITH p AS (SELECT ST_SetSRID(ST_Point($1, $2), 4326) AS g)
     SELECT coalesce(array_agg(gr.id::text) FILTER (WHERE ST_Contains(gr.geom, p.g)), '{}') AS contains,
            coalesce(array_agg(gr.id::text) FILTER (WHERE ST_Covers(gr.geom, p.g)), '{}') AS covers,
            coalesce(array_agg(gr.id::text) FILTER (WHERE ST_Distance(gr.geom::geography, p.g::geography) <= 30), '{}') AS within30
       FROM grids gr, p`,
    [lon, lat],
  );
  return rows[0];
}

describe('categories and departments', () => {
  it('lists the categories with their time limits as stored, and the departments', async () => {
    const res = await call(env, 'GET', '/api/incident-categories', { cookie: worker.cookie });
    expect(res.statusCode).toBe(200);
    const { categories } = res.json();
    expect(categories.map((c: { code: string }) => c.code)).toEqual(['dispute', 'safety_hazard', 'sanitation', 'public_facility', 'appeal', 'fire', 'traffic', 'emergency']);
    const { rows } = await env.db.pool.query<{ status: string; limit_minutes: number }>(`SELECT status, limit_minutes FROM incident_time_limits WHERE category = 'fire'`);
    expect(categories.find((c: { code: string }) => c.code === 'fire').timeLimits).toEqual(Object.fromEntries(rows.map((r) => [r.status, r.limit_minutes])));
    expect(categories.find((c: { code: string }) => c.code === 'fire').departmentCode).toBe('fire_rescue');
    const deps = await call(env, 'GET', '/api/departments', { cookie: worker.cookie });
    expect(deps.json().departments).toHaveLength(7);
    expect(deps.json().departments[0]).toEqual({ code: 'urban_management', nameZh: '城管执法中队', nameEn: 'Urban management' });
  });
});

describe('POST /api/incidents', () => {
  it('stores the report in the grid holding the point, with a report row on the timeline and an incident.created event', async () => {
    const res = await report(env, IN1, { cookie: worker.cookie, description: '路灯不亮', priority: 'high' });
    expect(res.statusCode).toBe(201);
    const f = res.json();
    expect(res.headers.location).toBe(`/api/incidents/${f.id}`);
    const o = await oracle(...IN1);
    expect(o.contains).toHaveLength(1);
    expect(f).toMatchObject({ type: 'Feature', id: f.properties.id, geometry: { type: 'Point', coordinates: IN1 } });
    expect(f.properties).toMatchObject({
      category: 'sanitation', priority: 'high', status: 'reported', description: '路灯不亮', gridId: o.contains[0], gridCode: GRID1,
      gridName: '第1网格', communityName: '金陵东路社区', nearBorder: false, nearGrids: [], reportedBy: { id: worker.id, name: worker.username },
      assignee: null, escalationLevel: 0, overdue: false, closedAt: null, version: 1, photoCount: 0, allowedActions: [], possibleDuplicates: [],
    });
    expect(f.properties).not.toHaveProperty('reporterContact');
    // The step limit: statusSince + the category's limit for 'reported' (sanitation: 30 min), for 受理;
    // the overall deadline: reportedAt + the category's overall limit (sanitation: 3 days).
    expect(f.properties.step).toBe('accept');
    expect(Date.parse(f.properties.stepDueAt) - Date.parse(f.properties.statusSince)).toBe(30 * 60_000);
    expect(Date.parse(f.properties.dueAt) - Date.parse(f.properties.reportedAt)).toBe(4320 * 60_000);
    expect(f.properties).toMatchObject({ stepOverdue: false, deadlineOverdue: false });
    const tl = await env.db.pool.query('SELECT action, from_status, to_status, actor_id::text FROM incident_transitions WHERE incident_id = $1', [f.id]);
    expect(tl.rows).toEqual([{ action: 'report', from_status: null, to_status: 'reported', actor_id: worker.id }]);
    const ev = await env.db.pool.query(`SELECT type, scope_code, data FROM live_events WHERE entity_id = $1`, [f.id]);
    expect(ev.rows).toEqual([{ type: 'incident.created', scope_code: GRID1, data: expect.objectContaining({ incidentId: f.id, status: 'reported', category: 'sanitation', gridCode: GRID1, lon: IN1[0], lat: IN1[1] }) }]);
  });

  it('assigns the grid and nearBorder/nearGrids as PostGIS computes them independently (random points near the borders)', async () => {
    const lonNear = fc.oneof(fc.double({ min: 121.4794, max: 121.4806, noNaN: true }), fc.double({ min: 121.4844, max: 121.4856, noNaN: true }), fc.double({ min: 121.4894, max: 121.4906, noNaN: true }));
    const lat = fc.double({ min: 31.2296, max: 31.2404, noNaN: true });
    await fc.assert(
      fc.asyncProperty(lonNear, lat, async (lon, la) => {
        const before = await count();
        const res = await report(env, [lon, la]);
        const o = await oracle(lon, la);
        if (o.covers.length === 0) {
          expect(res.statusCode).toBe(422);
          expect(res.json().code).toBe('OUTSIDE_ALL_GRIDS');
          expect(await count()).toBe(before);
          return;
        }
        expect(res.statusCode).toBe(201);
        const p = res.json().properties;
        if (o.contains.length === 1) expect(p.gridId).toBe(o.contains[0]);
        else expect(o.covers).toContain(p.gridId);
        const near = o.within30.filter((id) => id !== p.gridId).sort();
        expect(p.nearGrids.map((g: { id: string }) => g.id).sort()).toEqual(near);
        expect(p.nearBorder).toBe(near.length > 0);
        const stored = await env.db.pool.query('SELECT grid_id::text, near_border, near_grid_ids::text[] AS near FROM incidents WHERE id = $1', [p.id]);
        expect(stored.rows[0]).toEqual({ grid_id: p.gridId, near_border: near.length > 0, near: expect.arrayContaining(near) });
      }),
      { numRuns: 40 },
    );
  });

  it('a point exactly on the border between two grids lands in one of them and is near the other', async () => {
    const res = await report(env, [121.485, 31.235]);
    expect(res.statusCode).toBe(201);
    const p = res.json().properties;
    const o = await oracle(121.485, 31.235);
    expect(o.covers).toHaveLength(2);
    expect(o.covers).toContain(p.gridId);
    expect(p.nearGrids.map((g: { code: string }) => g.code)).toEqual([p.gridCode === GRID1 ? GRID2 : GRID1]);
  });

  it('lists possible duplicates: same category, within 50 m and 24 h, nearest first, not other categories, farther or older ones', async () => {
    const base: [number, number] = [121.4822, 31.2372];
    const metresEast = (m: number): [number, number] => [base[0] + m / (111_320 * Math.cos((base[1] * Math.PI) / 180)), base[1]];
    const first = await newIncident(env, base, { category: 'dispute', description: '邻里噪音' });
    const far = await newIncident(env, metresEast(-30), { category: 'dispute', description: '远处' });
    const other = await newIncident(env, metresEast(5), { category: 'traffic', description: '别的类别' });
    const old = await newIncident(env, metresEast(10), { category: 'dispute', description: '昨天以前' });
    await env.db.pool.query(`UPDATE incidents SET reported_at = now() - interval '25 hours' WHERE id = $1`, [old]);
    const near = await newIncident(env, metresEast(20), { category: 'dispute', description: '近处' });
    const res = await report(env, metresEast(30), { category: 'dispute', description: '又一次噪音' });
    expect(res.statusCode).toBe(201);
    const dups = res.json().properties.possibleDuplicates;
    expect(dups.map((d: { id: string }) => d.id)).toEqual([near, first]);
    const { rows } = await env.db.pool.query<{ id: string; d: number }>(
      `SELECT id::text, ST_Distance(location::geography, ST_SetSRID(ST_Point($1, $2), 4326)::geography) AS d FROM incidents WHERE id = ANY ($3::uuid[])`,
      [...metresEast(30), [near, first]],
    );
    for (const d of dups) expect(d.distanceMetres).toBeCloseTo(rows.find((r) => r.id === d.id)!.d, 0);
    expect(dups[0]).toMatchObject({ status: 'reported', description: '近处' });
    expect([far, other, old]).not.toContain(dups[0].id);
  });

  it('refuses a point whose grid lies outside the user\'s area with 403 OUT_OF_SCOPE and writes nothing', async () => {
    const before = await count();
    const res = await report(env, IN2, { cookie: worker.cookie });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ code: 'OUT_OF_SCOPE', gridCode: GRID2 });
    expect(await count()).toBe(before);
  });

  it('roles without incident.report are refused', async () => {
    const viewer = await session(env, 'viewer', COMMUNITY1);
    expect((await report(env, IN1, { cookie: viewer.cookie })).statusCode).toBe(403);
  });
});

describe('bad input: 4xx with a clear code, nothing written', () => {
  const valid = { category: 'sanitation', description: '垃圾', location: { type: 'Point', coordinates: IN1 } };
  const cases: [string, unknown, number, string][] = [
    ['outside every grid', { ...valid, location: { type: 'Point', coordinates: [121.6, 31.3] } }, 422, 'OUTSIDE_ALL_GRIDS'],
    ['unknown category', { ...valid, category: 'ufo' }, 422, 'UNKNOWN_CATEGORY'],
    ['empty description', { ...valid, description: '' }, 400, 'VALIDATION_FAILED'],
    ['blank description', { ...valid, description: '   ' }, 400, 'VALIDATION_FAILED'],
    ['oversized description', { ...valid, description: '字'.repeat(2001) }, 400, 'VALIDATION_FAILED'],
    ['missing description', { category: 'sanitation', location: valid.location }, 400, 'VALIDATION_FAILED'],
    ['NUL in description', { ...valid, description: 'a\u0000b' }, 400, 'VALIDATION_FAILED'],
    ['unknown priority', { ...valid, priority: 'extreme' }, 400, 'VALIDATION_FAILED'],
    ['unknown field', { ...valid, extra: 1 }, 400, 'VALIDATION_FAILED'],
    ['"NaN" as a coordinate', { ...valid, location: { type: 'Point', coordinates: ['NaN', 31.23] } }, 400, 'INVALID_GEOMETRY'],
    ['longitude out of range', { ...valid, location: { type: 'Point', coordinates: [181, 31.23] } }, 400, 'INVALID_GEOMETRY'],
    ['latitude out of range', { ...valid, location: { type: 'Point', coordinates: [121.48, -90.5] } }, 400, 'INVALID_GEOMETRY'],
    ['one coordinate', { ...valid, location: { type: 'Point', coordinates: [121.48] } }, 400, 'INVALID_GEOMETRY'],
    ['a LineString', { ...valid, location: { type: 'LineString', coordinates: [IN1, IN2] } }, 400, 'INVALID_GEOMETRY'],
    ['a WKT string', { ...valid, location: 'POINT(121.48 31.23)' }, 400, 'INVALID_GEOMETRY'],
    ['no location', { category: 'sanitation', description: '垃圾' }, 400, 'VALIDATION_FAILED'],
  ];
  it.each(cases)('%s', async (_name, body, status, code) => {
    const before = await count();
    const res = await call(env, 'POST', '/api/incidents', { body });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.json().code).toBe(code);
    expect(await count()).toBe(before);
  });

  it('a bare NaN (not JSON) is 400 and writes nothing', async () => {
    const before = await count();
    const res = await env.app.inject({
      method: 'POST', url: '/api/incidents', headers: { 'content-type': 'application/json' },
      payload: '{"category":"sanitation","description":"x","location":{"type":"Point","coordinates":[NaN,31.23]}}',
    });
    expect(res.statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('a description of exactly 2000 characters is accepted', async () => {
    const res = await call(env, 'POST', '/api/incidents', { body: { ...valid, description: '字'.repeat(2000) } });
    expect(res.statusCode).toBe(201);
  });
});

describe('Idempotency-Key', () => {
  const byDescription = (d: string) => count('SELECT count(*)::int AS n FROM incidents WHERE description = $1', [d]);

  it('a retry with the same key and body answers the first status and body; one incident', async () => {
    const first = await report(env, IN1, { key: 'retry-1', description: 'idem-1' });
    const again = await report(env, IN1, { key: 'retry-1', description: 'idem-1' });
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.json()).toEqual(first.json());
    expect(again.body).toBe(first.body);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(await byDescription('idem-1')).toBe(1);
    const ev = await count(`SELECT count(*)::int AS n FROM live_events WHERE entity_id = $1`, [first.json().id]);
    expect(ev).toBe(1);
  });

  it('the same key with a different body is 422 IDEMPOTENCY_KEY_REUSED', async () => {
    await report(env, IN1, { key: 'retry-2', description: 'idem-2' });
    const res = await report(env, IN1, { key: 'retry-2', description: 'idem-2 changed' });
    expect(res.statusCode).toBe(422);
    expect(res.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await byDescription('idem-2 changed')).toBe(0);
  });

  it('a refused report leaves its key free; a refused retry of an answered key answers as a retry', async () => {
    // Nothing is written for a refused report, the key's claim included (one autocommitted statement).
    const refused = await report(env, IN1, { key: 'refused-1', category: 'no-such-category', description: 'idem-refused' });
    expect(refused.json().code).toBe('UNKNOWN_CATEGORY');
    expect(await count(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'refused-1'`)).toBe(0);
    expect((await report(env, IN1, { key: 'refused-1', description: 'idem-refused' })).statusCode).toBe(201);
    // The key answered: the same key with a body that would be refused is a reused key, not a new report.
    const reused = await report(env, IN1, { key: 'refused-1', category: 'no-such-category', description: 'idem-refused' });
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await byDescription('idem-refused')).toBe(1);
  });

  it('a retry after the incident changed answers it as it is now, with the first possible duplicates', async () => {
    const before = await report(env, IN1, { key: 'retry-changed', description: 'idem-changed' });
    expect(before.statusCode).toBe(201);
    const id = before.json().id;
    await env.db.pool.query(`UPDATE incidents SET priority = 'urgent', version = version + 1 WHERE id = $1`, [id]);
    const again = await report(env, IN1, { key: 'retry-changed', description: 'idem-changed' });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(id);
    expect(again.json().properties.priority).toBe('urgent');
    expect(again.json().properties.possibleDuplicates).toEqual(before.json().properties.possibleDuplicates);
    expect(await byDescription('idem-changed')).toBe(1);
  });

  it('10 parallel submissions with one key make exactly one incident and identical answers', async () => {
    const answers = await Promise.all(Array.from({ length: 10 }, () => report(env, IN1, { key: 'parallel-1', description: 'idem-parallel' })));
    expect(answers.map((a) => a.statusCode)).toEqual(Array(10).fill(201));
    expect(new Set(answers.map((a) => a.body)).size).toBe(1);
    expect(await byDescription('idem-parallel')).toBe(1);
  });

  it('keys are per user: another user\'s same key makes its own incident', async () => {
    const other = await session(env, 'commander', COMMUNITY1);
    const a = await report(env, IN1, { key: 'shared-key', description: 'idem-users' });
    const b = await report(env, IN1, { key: 'shared-key', description: 'idem-users', cookie: other.cookie });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    expect(b.json().id).not.toBe(a.json().id);
    expect(await byDescription('idem-users')).toBe(2);
  });

  it('a refused first attempt stores nothing: the key stays free', async () => {
    const bad = await report(env, IN1, { key: 'retry-3', category: 'ufo', description: 'idem-3' });
    expect(bad.statusCode).toBe(422);
    const good = await report(env, IN1, { key: 'retry-3', description: 'idem-3' });
    expect(good.statusCode).toBe(201);
  });

  it('a key older than 24 h no longer replays, and expired keys are purged', async () => {
    const first = await report(env, IN1, { key: 'old-key', description: 'idem-old' });
    await env.db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key'`);
    const second = await report(env, IN1, { key: 'old-key', description: 'idem-old' });
    expect(second.statusCode).toBe(201);
    expect(second.json().id).not.toBe(first.json().id);
    await report(env, IN1, { key: 'old-key-2', description: 'idem-old-2' });
    await env.db.pool.query(`UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old-key-2'`);
    expect(await purgeExpiredKeys(env.db.db)).toBeGreaterThanOrEqual(1);
    expect(await count(`SELECT count(*)::int AS n FROM idempotency_keys WHERE created_at <= now() - interval '24 hours'`)).toBe(0);
    expect(await count(`SELECT count(*)::int AS n FROM idempotency_keys WHERE key = 'old-key'`)).toBe(1);
  });

  it('is honoured on transitions: a retried accept answers the first result, one timeline row', async () => {
    const id = await newIncident(env);
    const a = await act(env, id, { action: 'accept' }, undefined, 'accept-1');
    const b = await act(env, id, { action: 'accept' }, undefined, 'accept-1');
    expect(a.statusCode).toBe(200);
    expect(b.statusCode).toBe(200);
    expect(b.body).toBe(a.body);
    expect(await count(`SELECT count(*)::int AS n FROM incident_transitions WHERE incident_id = $1 AND action = 'accept'`, [id])).toBe(1);
    // Without the key the same request is a second, illegal step.
    const again = await act(env, id, { action: 'accept' });
    expect(again.json()).toMatchObject({ status: 409, code: 'INVALID_TRANSITION', currentStatus: 'accepted', allowed: ['dispatch', 'close', 'suspend', 'request_extension'] });
    // The key belongs to that request: another incident's accept under it is a reuse.
    const other = await newIncident(env);
    expect((await act(env, other, { action: 'accept' }, undefined, 'accept-1')).json().code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('an empty or oversized key is 400', async () => {
    expect((await report(env, IN1, { key: 'x'.repeat(201) })).statusCode).toBe(400);
    const empty = await env.app.inject({ method: 'POST', url: '/api/incidents', headers: { 'idempotency-key': '' }, payload: { category: 'sanitation', description: 'x', location: { type: 'Point', coordinates: IN1 } } });
    expect(empty.statusCode).toBe(400);
  });
});
