import crypto from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { openDatabase, type Database } from '../../server/src/db/database.js';

let database: TestDatabase;
let app: FastifyInstance;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const rowsOf = async (userId: string) =>
  (await database.pool.query(`SELECT action, entity, entity_id, actor_id::text, actor_username, actor_role, ip, request_id FROM audit_log WHERE actor_id = $1 ORDER BY id`, [userId])).rows;

describe('the audit log', () => {
  it('a sign-in and a sign-out each append exactly one row naming the actor', async () => {
    const u = await addUser(database.pool, 'planner', '310101002001');
    expect(await rowsOf(u.id)).toEqual([]);
    const cookie = await signIn(app, u.username, u.password);
    const afterLogin = await rowsOf(u.id);
    expect(afterLogin).toEqual([
      { action: 'auth.login', entity: 'user', entity_id: u.id, actor_id: u.id, actor_username: u.username, actor_role: 'planner', ip: '127.0.0.1', request_id: expect.any(String) },
    ]);
    // Reads are not audited as sign-ins.
    await app.inject({ url: '/api/auth/me', headers: { cookie } });
    expect(await rowsOf(u.id)).toHaveLength(1);
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } })).statusCode).toBe(204);
    const rows = await rowsOf(u.id);
    expect(rows.map((r) => r.action)).toEqual(['auth.login', 'auth.logout']);
    expect(rows[1]).toMatchObject({ actor_id: u.id, actor_username: u.username, entity_id: u.id });
    // A logout without a session writes nothing; a failed sign-in writes no login row.
    await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } });
    await app.inject({ method: 'POST', url: '/api/auth/login', payload: { username: u.username, password: 'wrong password' } });
    expect(await rowsOf(u.id)).toHaveLength(2);
  });

  it('even the owner cannot UPDATE, DELETE or TRUNCATE audit rows (trigger)', async () => {
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM audit_log');
    expect(rows[0].n).toBeGreaterThan(0);
    for (const statement of [`UPDATE audit_log SET action = 'auth.nothing'`, 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      await expect(database.pool.query(statement), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    }
    expect((await database.pool.query('SELECT count(*)::int AS n FROM audit_log')).rows[0].n).toBe(rows[0].n);
  });
});

describe.skipIf(!usesExternalDatabase)('as the ordinary application role (wangge_app)', () => {
  const role = `wangge_test_${crypto.randomBytes(4).toString('hex')}`;
  const password = crypto.randomBytes(12).toString('hex');
  let asApp: Database;
  let client: pg.Client;

  beforeAll(async () => {
    await database.pool.query(`CREATE ROLE ${role} LOGIN PASSWORD '${password}' IN ROLE wangge_app`);
    const url = new URL(database.url);
    url.username = role;
    url.password = password;
    client = new pg.Client({ connectionString: url.toString() });
    await client.connect();
    asApp = await openDatabase({ databaseUrl: url.toString(), dataDir: '', poolSize: 2 });
  });

  afterAll(async () => {
    await client?.end().catch(() => {});
    await asApp?.close().catch(() => {});
    await database.pool.query(`DROP ROLE IF EXISTS ${role}`);
  });

  it('is not a superuser and may not change audit rows (permission denied)', async () => {
    const { rows } = await client.query('SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user');
    expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    for (const statement of [`UPDATE audit_log SET action = 'auth.nothing'`, 'DELETE FROM audit_log', 'TRUNCATE audit_log']) {
      await expect(client.query(statement), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    }
    // It may append, and read.
    await client.query(`INSERT INTO audit_log (action, entity) VALUES ('test.append', 'user')`);
    expect((await client.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'test.append'`)).rows[0].n).toBe(1);
    // Nor may it touch the migration bookkeeping or the schema.
    await expect(client.query(`DELETE FROM schema_migrations`)).rejects.toMatchObject({ code: '42501' });
    await expect(client.query(`CREATE TABLE not_allowed (id int)`)).rejects.toMatchObject({ code: '42501' });
    await expect(client.query(`DROP TABLE users`)).rejects.toMatchObject({ code: '42501' });
  });

  it('the API runs as that role: sign-in, a collection read and sign-out work, and are audited', async () => {
    const ordinary = await buildTestApp({ ...asApp, mode: database.mode }, { signedIn: false });
    try {
      const u = await addUser(database.pool, 'viewer', '310101002001');
      const cookie = await signIn(ordinary, u.username, u.password);
      const items = await ordinary.inject({ url: '/api/collections/grids/items', headers: { cookie } });
      expect(items.statusCode).toBe(200);
      expect(items.json().numberMatched).toBe(2);
      expect((await ordinary.inject({ url: '/api/collections', headers: { cookie } })).statusCode).toBe(200);
      expect((await ordinary.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } })).statusCode).toBe(204);
      expect((await rowsOf(u.id)).map((r) => r.action)).toEqual(['auth.login', 'auth.logout']);
    } finally {
      await ordinary.close();
    }
  });
});

if (!usesExternalDatabase) {
  console.log('[audit] skipped the wangge_app role tests: the embedded database (PGlite) has a single user and no LOGIN roles; set TEST_DATABASE_URL to run them');
}
