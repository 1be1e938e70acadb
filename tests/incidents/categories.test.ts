import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { act, call, COMMUNITY1, forceStatus, IN1, newIncident, session, setupEnv, type Env, type Session, jpegBytes } from './support.js';

/**
 * Issue 10 item 9: a category can require a photo to resolve its incidents — a column on the
 * categories, changed by an admin of the whole installation through PATCH /api/incident-categories/{code},
 * shown in GET /api/meta, enforced on resolve (422 PHOTO_REQUIRED, nothing written).
 */
let env: Env;
let commander: Session;

beforeAll(async () => {
  env = await setupEnv();
  commander = await session(env, 'commander', COMMUNITY1);
});
afterAll(async () => {
  await env?.close();
});

const patch = (code: string, body: unknown, cookie?: string) =>
  env.app.inject({ method: 'PATCH', url: `/api/incident-categories/${code}`, headers: cookie ? { cookie } : {}, payload: body as object });
const category = async (code: string) =>
  (await call(env, 'GET', '/api/meta')).json().categories.find((c: { code: string }) => c.code === code);

describe('PATCH /api/incident-categories/{code}', () => {
  it('an admin of the whole installation turns the photo requirement on and off; GET /api/meta shows it; audited', async () => {
    expect((await category('public_facility')).photoRequired).toBe(false);
    const on = await patch('public_facility', { photoRequired: true });
    expect(on.statusCode).toBe(200);
    expect(on.json()).toMatchObject({ code: 'public_facility', photoRequired: true });
    expect((await category('public_facility')).photoRequired).toBe(true);
    const { rows } = await env.db.pool.query(
      `SELECT before->>'photoRequired' AS b, after->>'photoRequired' AS a FROM audit_log WHERE action = 'category.update' AND entity_id = 'public_facility'`);
    expect(rows).toEqual([{ b: 'false', a: 'true' }]);
    expect((await patch('public_facility', { photoRequired: false })).json().photoRequired).toBe(false);
  });

  it.each([
    ['a string for the boolean', 'dispute', { photoRequired: 'yes' }, 400, 'INVALID_PARAMETER'],
    ['null', 'dispute', { photoRequired: null }, 400, 'INVALID_PARAMETER'],
    ['an unknown field', 'dispute', { photoRequired: true, sort: 1 }, 400, 'INVALID_PARAMETER'],
    ['nothing to change', 'dispute', {}, 400, 'INVALID_PARAMETER'],
    ['an unknown category', 'parking', { photoRequired: true }, 404, 'NOT_FOUND'],
    ['a malformed code', 'DROP TABLE', { photoRequired: true }, 404, 'NOT_FOUND'],
  ])('%s → %i %s, nothing changed', async (_what, code, body, status, problem) => {
    const res = await patch(encodeURIComponent(code), body);
    expect(res.statusCode).toBe(status);
    expect(res.json().code).toBe(problem);
    expect((await category('dispute')).photoRequired).toBe(false);
  });

  it('a commander, or an admin of one community, may not change categories', async () => {
    expect((await patch('dispute', { photoRequired: true }, commander.cookie)).statusCode).toBe(403);
    const localAdmin = await session(env, 'admin', COMMUNITY1);
    const res = await patch('dispute', { photoRequired: true }, localAdmin.cookie);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('FORBIDDEN');
    expect((await category('dispute')).photoRequired).toBe(false);
  });
});

describe('resolving an incident of a category that requires a photo', () => {
  it('without a photo: 422 PHOTO_REQUIRED and nothing written; with one: resolved; other categories need none', async () => {
    expect((await patch('safety_hazard', { photoRequired: true })).statusCode).toBe(200);
    try {
      const id = await newIncident(env, IN1, { category: 'safety_hazard' });
      await forceStatus(env.db.pool, id, 'in_progress');
      const before = (await env.db.pool.query('SELECT status, version FROM incidents WHERE id = $1', [id])).rows[0];
      const refused = await act(env, id, { action: 'resolve', note: '已处理' }, commander.cookie);
      expect(refused.statusCode).toBe(422);
      expect(refused.json().code).toBe('PHOTO_REQUIRED');
      expect((await env.db.pool.query('SELECT status, version FROM incidents WHERE id = $1', [id])).rows[0]).toEqual(before);
      const photo = await env.app.inject({
        method: 'POST', url: `/api/incidents/${id}/photos`, headers: { 'content-type': 'image/jpeg', cookie: commander.cookie }, payload: jpegBytes(),
      });
      expect(photo.statusCode).toBe(201);
      const resolved = await act(env, id, { action: 'resolve', note: '已处理', photoIds: [photo.json().id] }, commander.cookie);
      expect(resolved.statusCode).toBe(200);
      expect(resolved.json().properties.status).toBe('resolved');

      const plain = await newIncident(env, IN1, { category: 'dispute' });
      await forceStatus(env.db.pool, plain, 'in_progress');
      expect((await act(env, plain, { action: 'resolve' }, commander.cookie)).statusCode).toBe(200);
    } finally {
      await patch('safety_hazard', { photoRequired: false });
    }
  });
});
