import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, COMMUNITY1, forceStatus, IN3, newIncident, session, setupEnv, type Env } from './support.js';

/**
 * The incident assignee rule (server/src/auth/scope.ts) grants a department's out-of-area incidents to
 * department users only: a department code left on an account of another role grants nothing.
 */
let env: Env;
let outside: string;

beforeAll(async () => {
  env = await setupEnv();
  // In the second community, outside COMMUNITY1; dispatched to the urban management department.
  outside = await newIncident(env, IN3);
  await forceStatus(env.db.pool, outside, 'dispatched', null, 'urban_management');
});

afterAll(async () => {
  await env?.close();
});

describe('department code on accounts', () => {
  it('a department user of COMMUNITY1 sees the incident dispatched to its department outside its area', async () => {
    const staff = await session(env, 'department', COMMUNITY1, { department: 'urban_management' });
    expect((await call(env, 'GET', `/api/incidents/${outside}`, { cookie: staff.cookie })).statusCode).toBe(200);
    const list = (await call(env, 'GET', '/api/incidents?assignedToMe=true', { cookie: staff.cookie })).json();
    expect(list.features.map((f: { id: string }) => f.id)).toContain(outside);
  });

  it('a commander and a viewer of COMMUNITY1 holding the same department code do not (404, not listed)', async () => {
    for (const role of ['commander', 'viewer'] as const) {
      const other = await session(env, role, COMMUNITY1, { department: 'urban_management' });
      expect((await call(env, 'GET', `/api/incidents/${outside}`, { cookie: other.cookie })).statusCode, role).toBe(404);
      const list = (await call(env, 'GET', '/api/incidents?limit=500', { cookie: other.cookie })).json();
      expect(list.features.map((f: { id: string }) => f.id), role).not.toContain(outside);
    }
  });

  it('an admin cannot bind a department through POST /api/users (the API declares no such field yet)', async () => {
    const res = await call(env, 'POST', '/api/users', {
      body: { username: 'dept-sneak', password: 'a long enough passphrase', role: 'department', areaCode: COMMUNITY1, departmentCode: 'urban_management' },
    });
    expect(res.statusCode).toBe(201);
    const { rows } = await env.db.pool.query<{ d: string | null }>('SELECT department_code AS d FROM users WHERE username = $1', ['dept-sneak']);
    expect(rows[0].d).toBeNull();
  });
});
