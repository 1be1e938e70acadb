import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, type TestDatabase } from '../support/database.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database);
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const auditRows = async (action: string, entityId: string) =>
  (await database.pool.query('SELECT * FROM audit_log WHERE action = $1 AND entity_id = $2', [action, entityId])).rows;

describe('user management API (admin)', () => {
  let userId = '';

  it('creates a grid worker with its responder record, audited once', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/users',
      payload: { username: 'wang.wu', password: 'correct horse battery', role: 'grid_worker', areaCode: '310101002001001', displayName: '王五' },
    });
    expect(res.statusCode).toBe(201);
    const user = res.json();
    userId = user.id;
    expect(user).toMatchObject({ username: 'wang.wu', role: 'grid_worker', areaCode: '310101002001001', disabled: false });
    expect(user.responderId).toMatch(/^[0-9a-f-]{36}$/);
    const { rows } = await database.pool.query(
      `SELECT r.kind, g.code FROM responders r JOIN grids g ON g.id = r.home_grid_id WHERE r.id = $1`,
      [user.responderId],
    );
    expect(rows[0]).toEqual({ kind: 'grid_worker', code: '310101002001001' });
    const audit = await auditRows('user.create', userId);
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0].after)).not.toMatch(/password/);
  });

  it.each([
    [{ username: 'x', password: 'correct horse battery', role: 'viewer', areaCode: '310101' }, 400],
    [{ username: 'shortpw', password: 'short', role: 'viewer', areaCode: '310101' }, 400],
    [{ username: 'starviewer', password: 'correct horse battery', role: 'viewer', areaCode: '*' }, 400],
    [{ username: 'nowhere', password: 'correct horse battery', role: 'viewer', areaCode: '999999' }, 400],
    [{ username: 'badrole', password: 'correct horse battery', role: 'root', areaCode: '310101' }, 400],
    [{ username: 'wang.wu', password: 'correct horse battery', role: 'viewer', areaCode: '310101' }, 409],
  ])('refuses %j with %i', async (payload, status) => {
    const res = await app.inject({ method: 'POST', url: '/api/users', payload });
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
  });

  describe('department accounts (issue 10 item 2)', () => {
    const base = { password: 'correct horse battery', areaCode: '310101' };

    it('a department account is made with its department, shown by the API and to its user', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/users',
        payload: { ...base, username: 'cg.zhang', role: 'department', departmentCode: 'urban_management', displayName: '张城管' },
      });
      expect(res.statusCode).toBe(201);
      expect(res.json()).toMatchObject({ role: 'department', departmentCode: 'urban_management' });
      const stored = await database.pool.query(`SELECT department_code FROM users WHERE username = 'cg.zhang'`);
      expect(stored.rows[0].department_code).toBe('urban_management');
      const cookie = await signIn(app, 'cg.zhang', 'correct horse battery');
      expect((await app.inject({ url: '/api/auth/me', headers: { cookie } })).json()).toMatchObject({ departmentCode: 'urban_management' });
      const listed = (await app.inject('/api/users?q=cg.zhang')).json().users[0];
      expect(listed.departmentCode).toBe('urban_management');
    });

    it.each([
      ['missing for a department account', { username: 'nodep', role: 'department' }, 400, 'INVALID_PARAMETER', /departmentCode/],
      ['unknown', { username: 'baddep', role: 'department', departmentCode: 'ministry_of_magic' }, 422, 'UNKNOWN_DEPARTMENT', /ministry_of_magic/],
      ['given for another role', { username: 'viewdep', role: 'viewer', departmentCode: 'urban_management' }, 400, 'INVALID_PARAMETER', /departmentCode/],
    ])('department %s → %i %s, nothing stored', async (_what, payload, status, code, detail) => {
      const res = await app.inject({ method: 'POST', url: '/api/users', payload: { ...base, ...payload } });
      expect(res.statusCode).toBe(status);
      expect(res.json()).toMatchObject({ code });
      expect(res.json().detail).toMatch(detail);
      const stored = await database.pool.query(`SELECT 1 FROM users WHERE username = $1`, [payload.username]);
      expect(stored.rowCount).toBe(0);
    });

    it('a role change to department needs a department; away from department drops it; a department can be changed', async () => {
      const viewer = await addUser(database.pool, 'viewer', '310101');
      const noDep = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { role: 'department' } });
      expect(noDep.statusCode).toBe(400);
      expect(noDep.json().code).toBe('INVALID_PARAMETER');
      const unknown = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { role: 'department', departmentCode: 'nope' } });
      expect(unknown.statusCode).toBe(422);
      expect(unknown.json().code).toBe('UNKNOWN_DEPARTMENT');
      const made = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { role: 'department', departmentCode: 'urban_management' } });
      expect(made.statusCode).toBe(200);
      expect(made.json()).toMatchObject({ role: 'department', departmentCode: 'urban_management' });
      const { rows } = await database.pool.query<{ code: string }>(`SELECT code FROM departments WHERE code <> 'urban_management' ORDER BY sort LIMIT 1`);
      const moved = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { departmentCode: rows[0].code } });
      expect(moved.statusCode).toBe(200);
      expect(moved.json().departmentCode).toBe(rows[0].code);
      const back = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { role: 'viewer' } });
      expect(back.statusCode).toBe(200);
      expect(back.json()).toMatchObject({ role: 'viewer', departmentCode: null });
      const stray = await app.inject({ method: 'PATCH', url: `/api/users/${viewer.id}`, payload: { departmentCode: 'urban_management' } });
      expect(stray.statusCode).toBe(400);
    });
  });

  it('lists, changes and disables accounts; a disabled account loses its session', async () => {
    const list = (await app.inject('/api/users?q=wang')).json();
    expect(list.users.map((u: { username: string }) => u.username)).toContain('wang.wu');
    const cookie = await signIn(app, 'wang.wu', 'correct horse battery');
    expect((await app.inject({ url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
    const res = await app.inject({ method: 'PATCH', url: `/api/users/${userId}`, payload: { disabled: true } });
    expect(res.statusCode).toBe(200);
    expect(res.json().disabled).toBe(true);
    expect((await app.inject({ url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
    const audit = await auditRows('user.update', userId);
    expect(audit).toHaveLength(1);
    expect(audit[0].before.disabled).toBe(false);
    expect(audit[0].after.disabled).toBe(true);
  });

  it('resets a password: the old one stops working', async () => {
    await app.inject({ method: 'PATCH', url: `/api/users/${userId}`, payload: { disabled: false } });
    const res = await app.inject({ method: 'POST', url: `/api/users/${userId}/password`, payload: { password: 'a brand new passphrase' } });
    expect(res.statusCode).toBe(204);
    await expect(signIn(app, 'wang.wu', 'correct horse battery')).rejects.toThrow(/401/);
    await expect(signIn(app, 'wang.wu', 'a brand new passphrase')).resolves.toMatch(/wangge_session=/);
  });

  it('an admin scoped to a community manages only that community', async () => {
    const local = await addUser(database.pool, 'admin', '310101002001');
    const cookie = await signIn(app, local.username, local.password);
    const outside = await addUser(database.pool, 'viewer', '310101');
    const seen = (await app.inject({ url: '/api/users?limit=1000', headers: { cookie } })).json();
    expect(seen.users.every((u: { areaCode: string }) => u.areaCode.startsWith('310101002001'))).toBe(true);
    expect((await app.inject({ method: 'PATCH', url: `/api/users/${outside.id}`, headers: { cookie }, payload: { disabled: true } })).statusCode).toBe(404);
    const wider = await app.inject({
      method: 'POST',
      url: '/api/users',
      headers: { cookie },
      payload: { username: 'wider', password: 'correct horse battery', role: 'viewer', areaCode: '310101' },
    });
    expect(wider.statusCode).toBe(403);
  });

  it('non-admins may not manage users or read the audit', async () => {
    const commander = await addUser(database.pool, 'commander', '310101');
    const cookie = await signIn(app, commander.username, commander.password);
    expect((await app.inject({ url: '/api/users', headers: { cookie } })).json().code).toBe('FORBIDDEN');
    expect((await app.inject({ url: '/api/audit', headers: { cookie } })).statusCode).toBe(403);
  });

  it('the audit log is queryable with filters and paging', async () => {
    const res = await app.inject(`/api/audit?entity=user&entityId=${userId}&limit=2`);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.numberMatched).toBeGreaterThanOrEqual(3);
    expect(body.entries).toHaveLength(2);
    expect(body.entries[0].id).toBeGreaterThan(body.entries[1].id);
    expect((await app.inject('/api/audit?from=not-a-date')).statusCode).toBe(400);
  });
});
