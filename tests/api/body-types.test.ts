/**
 * JSON bodies are validated without type coercion (server/src/lib/validator.ts): `null` is not 0,
 * `"5"` is not 5, `["admin"]` is not "admin", `"true"` is not true — a 400 INVALID_PARAMETER naming
 * the field, and nothing stored. Querystrings, params and headers arrive as text and keep their
 * coercion (`?limit=10`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';

let database: TestDatabase;
let app: FastifyInstance;
let worker: { id: string; responderId: string; cookie: string };

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database);
  const u = await addUser(database.pool, 'grid_worker', '310101002001001');
  worker = { id: u.id, responderId: u.responderId!, cookie: await signIn(app, u.username, u.password) };
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const count = async (text: string, values: unknown[] = []) => (await database.pool.query<{ n: number }>(text, values)).rows[0].n;
const trackOf = (responderId: string) => count('SELECT count(*)::int AS n FROM responder_positions WHERE responder_id = $1', [responderId]);
const now = () => new Date().toISOString();

/**
 * A 400 problem whose detail names `field` (a JSON pointer into the body, without the leading
 * slash): INVALID_PARAMETER, or the route's own validation code (the incident routes answer
 * VALIDATION_FAILED, as their contract says).
 */
function expectInvalid(res: LightMyRequestResponse, field: string, code = 'INVALID_PARAMETER') {
  expect(res.statusCode, res.body).toBe(400);
  expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
  const p = res.json();
  expect(p.code).toBe(code);
  expect(p.detail).toContain(`body "${field}"`);
}

function positions(body: unknown) {
  return app.inject({ method: 'POST', url: '/api/responders/me/positions', headers: { cookie: worker.cookie }, payload: body as object });
}

describe('a JSON body is not coerced', () => {
  it('null lon/lat in a position batch: 400 naming the field, nothing stored (not a fix at 0,0)', async () => {
    expectInvalid(await positions({ positions: [{ lon: null, lat: null, recordedAt: now() }] }), 'positions/0/lon');
    expectInvalid(await positions({ positions: [{ lon: 121.482, lat: null, recordedAt: now() }] }), 'positions/0/lat');
    // One such point fails the request: the good point beside it is not stored either.
    expectInvalid(await positions({ positions: [{ lon: 121.482, lat: 31.235, recordedAt: now() }, { lon: null, lat: 31.235, recordedAt: now() }] }), 'positions/1/lon');
    expect(await trackOf(worker.responderId)).toBe(0);
    const r = (await database.pool.query('SELECT position, position_at FROM responders WHERE id = $1', [worker.responderId])).rows[0];
    expect(r).toEqual({ position: null, position_at: null });
  });

  it('numbers sent as strings (a position, a version) and a non-string recordedAt: 400 naming the field', async () => {
    expectInvalid(await positions({ positions: [{ lon: '121.482', lat: 31.235, recordedAt: now() }] }), 'positions/0/lon');
    expectInvalid(await positions({ positions: [{ lon: 121.482, lat: 31.235, recordedAt: now(), accuracyMetres: '5' }] }), 'positions/0/accuracyMetres');
    expectInvalid(await positions({ positions: [{ lon: 121.482, lat: 31.235, recordedAt: 1767261600000 }] }), 'positions/0/recordedAt');
    expectInvalid(await positions({ positions: [{ lon: 121.482, lat: 31.235, recordedAt: [now()] }] }), 'positions/0/recordedAt');
    expect(await trackOf(worker.responderId)).toBe(0);
    // A version as a string on an incident step.
    const report = await app.inject({
      method: 'POST', url: '/api/incidents',
      payload: { category: 'sanitation', description: '垃圾堆放', location: { type: 'Point', coordinates: [121.482, 31.235] } },
    });
    expect(report.statusCode, report.body).toBe(201);
    const id = report.json().id;
    const step = await app.inject({ method: 'POST', url: `/api/incidents/${id}/transitions`, payload: { action: 'accept', expectedVersion: '1' } });
    expectInvalid(step, 'expectedVersion', 'VALIDATION_FAILED');
    expect(await count(`SELECT count(*)::int AS n FROM incident_transitions WHERE incident_id = $1 AND action <> 'report'`, [id])).toBe(0);
    // A coordinate as a string in a GeoJSON location.
    const located = await app.inject({
      method: 'POST', url: '/api/incidents',
      payload: { category: 'sanitation', description: '字符串坐标', location: { type: 'Point', coordinates: ['121.482', '31.235'] } },
    });
    expect(located.statusCode).toBe(400);
    expect(await count(`SELECT count(*)::int AS n FROM incidents WHERE description = '字符串坐标'`)).toBe(0);
  });

  it('"role": ["admin"] when creating a user: 400 naming role, no account', async () => {
    const res = await app.inject({
      method: 'POST', url: '/api/users',
      payload: { username: 'array.role', password: 'correct horse battery', role: ['admin'], areaCode: '310101' },
    });
    expectInvalid(res, 'role');
    // An area code as a number is not taken as its digits either.
    expectInvalid(
      await app.inject({ method: 'POST', url: '/api/users', payload: { username: 'number.area', password: 'correct horse battery', role: 'viewer', areaCode: 310101 } }),
      'areaCode',
    );
    expect(await count(`SELECT count(*)::int AS n FROM users WHERE username IN ('array.role', 'number.area')`)).toBe(0);
  });

  it('a boolean as a string, a null password: 400 naming the field, the account unchanged', async () => {
    const created = await app.inject({
      method: 'POST', url: '/api/users', payload: { username: 'typed.user', password: 'correct horse battery', role: 'viewer', areaCode: '310101' },
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().id;
    expectInvalid(await app.inject({ method: 'PATCH', url: `/api/users/${id}`, payload: { disabled: 'true' } }), 'disabled');
    expectInvalid(await app.inject({ method: 'POST', url: `/api/users/${id}/password`, payload: { password: null } }), 'password');
    expect((await database.pool.query('SELECT disabled FROM users WHERE id = $1', [id])).rows[0].disabled).toBe(false);
  });

  it('formats still hold in bodies (uuid), and well-typed bodies still pass', async () => {
    const report = await app.inject({
      method: 'POST', url: '/api/incidents',
      payload: { category: 'sanitation', description: '格式', location: { type: 'Point', coordinates: [121.482, 31.235] } },
    });
    const id = report.json().id;
    expectInvalid(await app.inject({ method: 'POST', url: `/api/incidents/${id}/dispatch`, payload: { responderId: 'not-a-uuid' } }), 'responderId', 'VALIDATION_FAILED');
    const ok = await positions({ positions: [{ lon: 121.482, lat: 31.235, recordedAt: now(), accuracyMetres: null }] });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ accepted: 1, rejected: [] });
  });
});

describe('querystrings, params and headers keep their coercion', () => {
  it('?limit=1&offset=0 are numbers; a bad one is still refused', async () => {
    const responders = await app.inject({ method: 'GET', url: '/api/responders?limit=1&offset=0' });
    expect(responders.statusCode, responders.body).toBe(200);
    expect(responders.json().numberReturned).toBeLessThanOrEqual(1);
    const grids = await app.inject({ method: 'GET', url: '/api/collections/grids/items?limit=1' });
    expect(grids.statusCode, grids.body).toBe(200);
    expect(grids.json().features).toHaveLength(1);
    const incidents = await app.inject({ method: 'GET', url: '/api/incidents?limit=2' });
    expect(incidents.statusCode, incidents.body).toBe(200);
    expect(incidents.json().features.length).toBeLessThanOrEqual(2);
    const bad = await app.inject({ method: 'GET', url: '/api/responders?limit=ten' });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('INVALID_LIMIT');
  });

  it('a header schema still validates (Idempotency-Key), params still 404 when malformed', async () => {
    const body = { category: 'sanitation', description: '幂等', location: { type: 'Point', coordinates: [121.482, 31.235] } };
    const first = await app.inject({ method: 'POST', url: '/api/incidents', headers: { 'Idempotency-Key': 'k-1' }, payload: body });
    const again = await app.inject({ method: 'POST', url: '/api/incidents', headers: { 'Idempotency-Key': 'k-1' }, payload: body });
    expect(first.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json().id).toBe(first.json().id);
    expect((await app.inject({ method: 'POST', url: '/api/incidents', headers: { 'Idempotency-Key': 'x'.repeat(201) }, payload: body })).statusCode).toBe(400);
    expect((await app.inject({ method: 'PATCH', url: '/api/users/nope', payload: { disabled: true } })).statusCode).toBe(404);
  });
});
