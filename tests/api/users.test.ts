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
