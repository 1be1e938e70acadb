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
      const other = await session(env, role, COMMUNITY1);
      // The column set behind the API's back (the API gives no other role a department).
      await env.db.pool.query(`UPDATE users SET department_code = 'urban_management' WHERE username = $1`, [other.username]);
      expect((await call(env, 'GET', `/api/incidents/${outside}`, { cookie: other.cookie })).statusCode, role).toBe(404);
      const list = (await call(env, 'GET', '/api/incidents?limit=500', { cookie: other.cookie })).json();
      expect(list.features.map((f: { id: string }) => f.id), role).not.toContain(outside);
    }
  });

  it('an admin binds a department through POST /api/users to a department account only', async () => {
    const made = await call(env, 'POST', '/api/users', {
      body: { username: 'dept-made', password: 'a long enough passphrase', role: 'department', areaCode: COMMUNITY1, departmentCode: 'urban_management' },
    });
    expect(made.statusCode).toBe(201);
    const sneak = await call(env, 'POST', '/api/users', {
      body: { username: 'dept-sneak', password: 'a long enough passphrase', role: 'commander', areaCode: COMMUNITY1, departmentCode: 'urban_management' },
    });
    expect(sneak.statusCode).toBe(400);
    const { rows } = await env.db.pool.query<{ username: string; d: string | null }>(
      `SELECT username, department_code AS d FROM users WHERE username IN ('dept-made', 'dept-sneak')`,
    );
    expect(rows).toEqual([{ username: 'dept-made', d: 'urban_management' }]);
  });
});
