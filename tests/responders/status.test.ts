/**
 * GET /api/responders/me, PUT /api/responders/me/status (responder.status rows in live_events),
 * presence thresholds (position_at set in SQL), and the scoped GET /api/responders.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { sessionFor } from '../support/auth.js';
import { appWith, workerSession } from './helpers.js';

const GRID1 = '310101002001001';
const GRID2 = '310101002001002';

describe('responder status, presence and list', () => {
  let t: TestDatabase;
  let app: FastifyInstance;
  let worker: Awaited<ReturnType<typeof workerSession>>;

  beforeAll(async () => {
    t = await createTestDatabase();
    await insertSmallDistrict(t.pool);
    // Thresholds from the test: online < 100 s, stale < 1000 s, offline after.
    app = await appWith(t, { onlineSeconds: 100, offlineSeconds: 1000 });
    worker = await workerSession(app, t.pool, GRID1);
  });
  afterAll(async () => {
    await app?.close();
    await t?.drop();
  });

  const me = async () => {
    const res = await app.inject({ method: 'GET', url: '/api/responders/me', headers: { cookie: worker.cookie } });
    expect(res.statusCode).toBe(200);
    return res.json();
  };
  const setAge = (id: string, seconds: number | null) =>
    t.pool.query(
      seconds === null
        ? 'UPDATE responders SET position = NULL, position_at = NULL WHERE id = $1'
        : `UPDATE responders SET position = coalesce(position, ST_SetSRID(ST_MakePoint(121.482, 31.235), 4326)),
                                 position_at = now() - make_interval(secs => $2) WHERE id = $1`,
      seconds === null ? [id] : [id, seconds],
    );

  test('GET /me: a new worker is off duty, offline, without position, with its home grid', async () => {
    const body = await me();
    expect(body).toMatchObject({
      id: worker.responderId, kind: 'grid_worker', status: 'off_duty', presence: 'offline', position: null,
      homeGridCode: GRID1, activeIncidentCount: 0,
    });
    expect(new Date(body.statusAt).getTime()).toBeGreaterThan(0);
  });

  test('PUT /me/status changes the status, records responder.status events, and nothing when unchanged', async () => {
    await t.pool.query('DELETE FROM live_events');
    const put = (status: string) =>
      app.inject({ method: 'PUT', url: '/api/responders/me/status', headers: { cookie: worker.cookie }, payload: { status } });
    const a = await put('available');
    expect(a.statusCode).toBe(200);
    expect(a.json()).toMatchObject({ id: worker.responderId, status: 'available' });
    expect((await put('available')).json().status).toBe('available');
    expect((await put('busy')).json().status).toBe('busy');
    const { rows } = await t.pool.query('SELECT type, entity_id::text AS id, scope_code, data FROM live_events ORDER BY id');
    expect(rows).toEqual([
      { type: 'responder.status', id: worker.responderId, scope_code: GRID1, data: { responderId: worker.responderId, status: 'available', from: 'off_duty' } },
      { type: 'responder.status', id: worker.responderId, scope_code: GRID1, data: { responderId: worker.responderId, status: 'busy', from: 'available' } },
    ]);
    const db = await t.pool.query('SELECT status FROM responders WHERE id = $1', [worker.responderId]);
    expect(db.rows[0].status).toBe('busy');
    // Bad input
    for (const payload of [{ status: 'asleep' }, {}, { status: 'available', extra: 1 }]) {
      const res = await app.inject({ method: 'PUT', url: '/api/responders/me/status', headers: { cookie: worker.cookie }, payload });
      expect(res.statusCode).toBe(400);
    }
    expect((await t.pool.query('SELECT count(*)::int AS n FROM live_events')).rows[0].n).toBe(2);
  });

  test('presence follows the age of the last position against the configured thresholds', async () => {
    for (const [age, presence] of [[null, 'offline'], [5, 'online'], [60, 'online'], [150, 'stale'], [900, 'stale'], [1200, 'offline'], [86_400, 'offline']] as const) {
      await setAge(worker.responderId, age);
      const body = await me();
      expect(body.presence, `age ${age}`).toBe(presence);
      if (age !== null) expect(body.position).toMatchObject({ lon: 121.482, lat: 31.235 });
    }
  });

  test('GET /api/responders: FeatureCollection with presence and status, filters, scope by home grid, limits', async () => {
    // The fixture's four responders (positions 5 minutes old → stale with these thresholds) + the worker.
    await setAge(worker.responderId, 10);
    const all = await app.inject('/api/responders');
    expect(all.statusCode).toBe(200);
    const fc = all.json();
    expect(fc.type).toBe('FeatureCollection');
    expect(fc.numberMatched).toBe(5);
    const mine = fc.features.find((f: { id: string }) => f.id === worker.responderId);
    expect(mine.geometry).toEqual({ type: 'Point', coordinates: [121.482, 31.235] });
    expect(mine.properties).toMatchObject({ presence: 'online', status: 'busy', homeGridCode: GRID1, kind: 'grid_worker', activeIncidentId: null });
    const fixture = fc.features.filter((f: { id: string }) => f.id !== worker.responderId);
    expect(fixture.every((f: { properties: { presence: string } }) => f.properties.presence === 'stale')).toBe(true);

    const q = async (qs: string, cookie?: string) => {
      const res = await app.inject({ url: `/api/responders?${qs}`, headers: cookie ? { cookie } : {} });
      expect(res.statusCode, qs).toBe(200);
      return res.json();
    };
    expect((await q('presence=online')).features.map((f: { id: string }) => f.id)).toEqual([worker.responderId]);
    expect((await q('status=available')).numberMatched).toBe(3);
    expect((await q('status=busy,off_duty&presence=stale')).numberMatched).toBe(1);
    const page = await q('limit=2');
    expect(page).toMatchObject({ numberMatched: 5, numberReturned: 2 });
    // Scope: a commander of grid 2 sees only grid 2's responders.
    const grid2 = await sessionFor(app, t.pool, 'viewer', GRID2);
    const scoped = await q('', grid2);
    expect(scoped.numberMatched).toBe(2);
    expect(scoped.features.every((f: { properties: { homeGridCode: string } }) => f.properties.homeGridCode === GRID2)).toBe(true);
    for (const bad of ['limit=0', 'limit=2001', 'status=asleep', 'presence=online,away', 'offset=-1']) {
      expect((await app.inject(`/api/responders?${bad}`)).statusCode, bad).toBe(400);
    }
  });

  test('activeIncidentCount and activeIncidentId follow the incidents assigned to the responder', async () => {
    const { rows } = await t.pool.query<{ id: string }>(`SELECT id::text FROM incidents WHERE status = 'reported' ORDER BY id LIMIT 2`);
    await t.pool.query(`UPDATE incidents SET status = 'dispatched', assignee_responder_id = $1, assigned_at = now() - interval '1 hour' WHERE id = $2`, [worker.responderId, rows[0].id]);
    await t.pool.query(`UPDATE incidents SET status = 'in_progress', assignee_responder_id = $1, assigned_at = now() WHERE id = $2`, [worker.responderId, rows[1].id]);
    expect((await me()).activeIncidentCount).toBe(2);
    const fc = (await app.inject('/api/responders?presence=online')).json();
    expect(fc.features[0].properties.activeIncidentId).toBe(rows[1].id);
  });
});
