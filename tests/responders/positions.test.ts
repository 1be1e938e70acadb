/**
 * POST /api/responders/me/positions on a real database: per-point rejection (future, impossible
 * speed against stored and same-batch neighbours, out of range, too old), duplicates, out-of-order
 * points, the current position moving only forward, one responder.moved per batch, bad input → 400
 * with nothing written, and 403 NO_RESPONDER for an account without a responder.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { sessionFor } from '../support/auth.js';
import { appWith, iso, M_LAT, mLon, workerSession } from './helpers.js';

const GRID = '310101002001001';
const LON = 121.482;
const LAT = 31.235;

describe('responder positions', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let worker: Awaited<ReturnType<typeof workerSession>>;

  beforeAll(async () => {
    t = await createTestDatabase();
    await insertSmallDistrict(t.pool);
    app = await appWith(t);
    worker = await workerSession(app, t.pool, GRID);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });
  beforeEach(async () => {
    await t.pool.query('DELETE FROM responder_positions');
    await t.pool.query('DELETE FROM live_events');
    await t.pool.query('UPDATE responders SET position = NULL, position_at = NULL, position_accuracy_m = NULL WHERE id = $1', [worker.responderId]);
  });

  const post = (positions: unknown[], cookie = worker.cookie) =>
    app.inject({ method: 'POST', url: '/api/responders/me/positions', headers: { cookie }, payload: { positions } });
  /** A point `m` metres north of the base point, `s` seconds from now. */
  const at = (s: number, m = 0, extra: Record<string, unknown> = {}) => ({ lon: LON, lat: LAT + m * M_LAT, recordedAt: iso(s * 1000), ...extra });
  const track = async () =>
    (await t.pool.query<{ t: Date; lat: number }>('SELECT recorded_at AS t, ST_Y(position) AS lat FROM responder_positions WHERE responder_id = $1 ORDER BY recorded_at', [worker.responderId])).rows;
  const current = async () =>
    (await t.pool.query<{ at: Date | null; lat: number | null; acc: number | null }>('SELECT position_at AS at, ST_Y(position) AS lat, position_accuracy_m AS acc FROM responders WHERE id = $1', [worker.responderId])).rows[0];
  const events = async () =>
    (await t.pool.query<{ type: string; entity_id: string; scope_code: string; data: Record<string, unknown> }>('SELECT type, entity_id::text, scope_code, data FROM live_events ORDER BY id')).rows;

  test('a clean batch is stored, the current position is the newest point, one responder.moved', async () => {
    const res = await post([at(-60, 0, { accuracyMetres: 8 }), at(-30, 100, { accuracyMetres: 5 }), at(-90, -50)]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ accepted: 3, duplicates: 0, rejected: [] });
    expect(body.position.lat).toBeCloseTo(LAT + 100 * M_LAT, 7);
    expect(body.position.accuracyMetres).toBe(5);
    expect((await track()).length).toBe(3);
    const cur = await current();
    expect(cur.lat).toBeCloseTo(LAT + 100 * M_LAT, 7);
    const ev = await events();
    expect(ev).toHaveLength(1);
    expect(ev[0]).toMatchObject({ type: 'responder.moved', entity_id: worker.responderId, scope_code: GRID });
    expect(ev[0].data).toMatchObject({ responderId: worker.responderId, accuracyMetres: 5 });
    expect(ev[0].data.lat).toBeCloseTo(LAT + 100 * M_LAT, 7);
  });

  test('future timestamps beyond 2 minutes are rejected per point; 1 minute ahead is accepted', async () => {
    const res = await post([at(-10), at(60, 10), at(180, 20), at(3600, 30)]);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([[2, 'FUTURE_TIMESTAMP'], [3, 'FUTURE_TIMESTAMP']]);
    expect((await track()).length).toBe(2);
  });

  test('impossible speed: against a stored point, and against an earlier point of the same batch; the rest accepted', async () => {
    expect((await post([at(-600, 0)])).json().accepted).toBe(1);
    // 60 s after the stored point: 3 km away is 180 km/h (rejected); 2 km is 120 km/h (accepted).
    const res = await post([at(-540, 3000), at(-540, 2000)]);
    const body = res.json();
    expect(body.rejected).toEqual([{ index: 0, code: 'IMPOSSIBLE_SPEED', detail: expect.stringMatching(/km\/h/) }]);
    expect(body.accepted).toBe(1);
    // Same batch: point 1 is accepted; point 2, 10 s after it and 1 km away (360 km/h), is rejected;
    // point 3 is fine against point 1.
    const res2 = await post([at(-300, 2000), at(-290, 3000), at(-280, 2050)]);
    expect(res2.json().rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([[1, 'IMPOSSIBLE_SPEED']]);
    expect(res2.json().accepted).toBe(2);
    // A point placed between two stored ones is checked against both neighbours (the later one too).
    const res3 = await post([at(-295, 0)]);
    expect(res3.json().rejected[0]).toMatchObject({ index: 0, code: 'IMPOSSIBLE_SPEED' });
    expect((await track()).map((p) => Math.round((p.lat - LAT) / M_LAT))).toEqual([0, 2000, 2000, 2050]);
  });

  test('the stored current position counts as a neighbour even without a track row', async () => {
    await t.pool.query(`UPDATE responders SET position = ST_SetSRID(ST_MakePoint($2, $3), 4326), position_at = now() - interval '60 seconds' WHERE id = $1`, [worker.responderId, LON, LAT]);
    const res = await post([at(-30, 5000)]);
    expect(res.json().rejected[0]).toMatchObject({ index: 0, code: 'IMPOSSIBLE_SPEED' });
  });

  test('duplicates (same recordedAt) are counted and ignored, also within one batch', async () => {
    const p = at(-100, 0);
    expect((await post([p])).json()).toMatchObject({ accepted: 1, duplicates: 0 });
    // One object sent twice: two calls of at() may fall on different milliseconds (then they are no duplicates).
    const q = at(-50, 10);
    const res = await post([p, { ...p, lat: LAT + 10 * M_LAT }, q, q]);
    expect(res.json()).toMatchObject({ accepted: 1, duplicates: 3, rejected: [] });
    const rows = await track();
    expect(rows.length).toBe(2);
    expect(rows[0].lat).toBeCloseTo(LAT, 9); // the first point kept as it was
  });

  test('out-of-order points are stored in the track, but the current position only moves to a newer point', async () => {
    await post([at(-10, 100)]);
    const before = await current();
    const ev0 = (await events()).length;
    const res = await post([at(-40, 50), at(-30, 60)]);
    expect(res.json()).toMatchObject({ accepted: 2, rejected: [] });
    expect((await track()).length).toBe(3);
    const after = await current();
    expect(after.at!.getTime()).toBe(before.at!.getTime());
    expect(after.lat).toBeCloseTo(LAT + 100 * M_LAT, 7);
    expect((await events()).length).toBe(ev0); // no move, no event
    // A newer point then moves it.
    await post([at(-5, 110)]);
    expect((await current()).lat).toBeCloseTo(LAT + 110 * M_LAT, 7);
  });

  test('mixed batch: each bad point rejected with its index and code, the rest accepted', async () => {
    // One object sent twice: two calls of at() may fall on different milliseconds (then they are no duplicates).
    const twice = at(-160, 30);
    const res = await post([
      at(-200, 0),
      { lon: 200, lat: LAT, recordedAt: iso(-190_000) },
      at(-180, 10, { accuracyMetres: -1 }),
      at(600, 20),
      { lon: LON, lat: LAT, recordedAt: iso(-8 * 86_400_000) },
      at(-170, 50_000),
      twice,
      twice,
    ]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.rejected.map((r: { index: number; code: string }) => [r.index, r.code])).toEqual([
      [1, 'OUT_OF_RANGE'], [2, 'OUT_OF_RANGE'], [3, 'FUTURE_TIMESTAMP'], [4, 'TOO_OLD'], [5, 'IMPOSSIBLE_SPEED'],
    ]);
    expect(body.accepted).toBe(2);
    expect(body.duplicates).toBe(1);
    expect((await track()).length).toBe(2);
  });

  test('wrong types, an empty or too large batch, unknown fields: 400 and nothing written', async () => {
    const bad: unknown[] = [
      { positions: [{ lon: 'east', lat: LAT, recordedAt: iso(0) }] },
      { positions: [{ lon: LON, lat: LAT }] },
      { positions: [{ lon: LON, lat: LAT, recordedAt: 12 }] },
      { positions: [] },
      { positions: Array.from({ length: 501 }, (_, i) => at(-1000 + i, i)) },
      { positions: [{ ...at(0), speed: 3 }] },
      { points: [at(0)] },
      [at(0)],
    ];
    for (const payload of bad) {
      const res = await app.inject({ method: 'POST', url: '/api/responders/me/positions', headers: { cookie: worker.cookie }, payload: payload as object });
      expect(res.statusCode, JSON.stringify(payload).slice(0, 80)).toBe(400);
      expect(res.json().code).toBeTypeOf('string');
    }
    expect((await track()).length).toBe(0);
    // 500 is the largest batch.
    const ok = await post(Array.from({ length: 500 }, (_, i) => at(-1000 + i, i)));
    expect(ok.json()).toMatchObject({ accepted: 500, rejected: [] });
  });

  test('an account without a responder gets 403 NO_RESPONDER on every /me route', async () => {
    const cookie = await sessionFor(app, t.pool, 'commander', '310101');
    for (const [method, url, payload] of [
      ['GET', '/api/responders/me', undefined],
      ['PUT', '/api/responders/me/status', { status: 'available' }],
      ['POST', '/api/responders/me/positions', { positions: [at(0)] }],
    ] as const) {
      const res = await app.inject({ method, url, headers: { cookie }, payload });
      expect(res.statusCode, url).toBe(403);
      expect(res.json()).toMatchObject({ code: 'NO_RESPONDER', title: 'No responder record', status: 403 });
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    }
    // A planner lacks the permission altogether.
    const planner = await sessionFor(app, t.pool, 'planner', '310101');
    const res = await app.inject({ method: 'GET', url: '/api/responders/me', headers: { cookie: planner } });
    expect(res.json().code).toBe('FORBIDDEN');
  });
});
