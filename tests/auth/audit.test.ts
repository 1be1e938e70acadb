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

/** A commander's report with a reporter contact, by the API; its id. */
async function incidentWithContact(cookie: string): Promise<string> {
  const res = await app.inject({
    method: 'POST', url: '/api/incidents', headers: { cookie },
    payload: { category: 'sanitation', description: '联系人测试', location: { type: 'Point', coordinates: [121.4812, 31.2331] }, reporterContact: '王先生 13800001111' },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id;
}

const contactRows = async (incidentId: string) =>
  (await database.pool.query<{ id: number; actor_id: string; count: number; at: Date; last_at: Date | null; ip: string | null }>(
    `SELECT id::int, actor_id::text, count, at, last_at, ip FROM audit_log WHERE action = 'incident.read_contact' AND entity_id = $1 ORDER BY id`,
    [incidentId],
  )).rows;

describe('repeated reads of a reporter contact (issue 10 item 8)', () => {
  let commander: Awaited<ReturnType<typeof addUser>>;
  let cookie: string;
  let admin: string;

  beforeAll(async () => {
    commander = await addUser(database.pool, 'commander', '310101');
    cookie = await signIn(app, commander.username, commander.password);
    const a = await addUser(database.pool, 'admin', '*');
    admin = await signIn(app, a.username, a.password);
  });

  const read = async (id: string, who = cookie) => {
    const res = await app.inject({ url: `/api/incidents/${id}`, headers: { cookie: who } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().properties.reporterContact).toBe('王先生 13800001111');
  };

  it('six reads by one user within 15 minutes are one row counting six, with the first and the last time; the audit API answers both', async () => {
    const id = await incidentWithContact(cookie);
    const started = new Date();
    for (let i = 0; i < 6; i++) await read(id);
    const rows = await contactRows(id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ actor_id: commander.id, count: 6, ip: '127.0.0.1' });
    expect(rows[0].last_at!.getTime()).toBeGreaterThanOrEqual(rows[0].at.getTime());
    expect(rows[0].at.getTime()).toBeGreaterThanOrEqual(started.getTime() - 1000);

    // Another user's reads are that user's own row.
    const other = await addUser(database.pool, 'commander', '310101');
    const otherCookie = await signIn(app, other.username, other.password);
    await read(id, otherCookie);
    await read(id, otherCookie);
    expect((await contactRows(id)).map((r) => [r.actor_id, r.count])).toEqual([[commander.id, 6], [other.id, 2]]);

    const res = await app.inject({ url: `/api/audit?action=incident.read_contact&entityId=${id}`, headers: { cookie: admin } });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.numberMatched).toBe(2);
    const mine = body.entries.find((e: { actorId: string }) => e.actorId === commander.id);
    expect(mine).toMatchObject({ action: 'incident.read_contact', entity: 'incident', entityId: id, count: 6, actorUsername: commander.username });
    expect(mine.at).toBe(rows[0].at.toISOString());
    expect(mine.lastAt).toBe(rows[0].last_at!.toISOString());
    // A single entry: count 1, its last time is its time.
    const login = (await app.inject({ url: `/api/audit?action=auth.login&actor=${commander.username}`, headers: { cookie: admin } })).json().entries[0];
    expect(login).toMatchObject({ count: 1, lastAt: login.at });
  });

  it('a read more than 15 minutes after a row began starts a new row; the old one is left as it was', async () => {
    const id = await incidentWithContact(cookie);
    // A row begun 16 minutes ago (appending is allowed to anyone who may write the log).
    await database.pool.query(
      `INSERT INTO audit_log (at, actor_id, actor_username, actor_role, action, entity, entity_id, ip)
       VALUES (now() - interval '16 minutes', $1, $2, 'commander', 'incident.read_contact', 'incident', $3, '127.0.0.1')`,
      [commander.id, commander.username, id],
    );
    await read(id);
    await read(id);
    expect((await contactRows(id)).map((r) => [r.count, r.last_at === null])).toEqual([[1, true], [2, false]]);
    // One begun 14 minutes ago takes the next read.
    await database.pool.query(
      `INSERT INTO audit_log (at, actor_id, actor_username, actor_role, action, entity, entity_id, ip)
       VALUES (now() - interval '14 minutes', $1, $2, 'commander', 'incident.read_contact', 'incident', $3, '127.0.0.1')`,
      [commander.id, commander.username, id],
    );
    await read(id);
    expect((await contactRows(id)).map((r) => r.count)).toEqual([1, 2, 2]);
  });

  it('concurrent reads of one incident by one user lose no count and make one row', async () => {
    const id = await incidentWithContact(cookie);
    await Promise.all(Array.from({ length: 12 }, () => read(id)));
    const rows = await contactRows(id);
    expect(rows.map((r) => r.count)).toEqual([12]);
  });

  it('the one change an audit row may take: a contact read\'s count by one and its last time, within its 15 minutes — nothing else', async () => {
    const id = await incidentWithContact(cookie);
    await read(id);
    const [row] = await contactRows(id);
    const refused = async (statement: string) =>
      expect(database.pool.query(statement, [row.id]), statement).rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
    // Allowed (what a read does).
    await database.pool.query(`UPDATE audit_log SET count = count + 1, last_at = now() WHERE id = $1`, [row.id]);
    // Refused: any other column, a count that shrinks or jumps, a last time in the future or past the window.
    await refused(`UPDATE audit_log SET count = count + 1, last_at = now(), ip = '10.0.0.1' WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 1, last_at = now(), at = at - interval '1 hour' WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 1, last_at = now(), actor_id = NULL WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count - 1 WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 2, last_at = now() WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 1, last_at = now() + interval '1 minute' WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 1, last_at = at + interval '15 minutes' WHERE id = $1`);
    await refused(`UPDATE audit_log SET count = count + 1, last_at = at - interval '1 second' WHERE id = $1`);
    await refused(`UPDATE audit_log SET last_at = now() WHERE id = $1`);
    await refused(`DELETE FROM audit_log WHERE id = $1`);
    // Any other row: not even its count.
    const { rows: [login] } = await database.pool.query<{ id: number }>(`SELECT id::int FROM audit_log WHERE action = 'auth.login' LIMIT 1`);
    await expect(database.pool.query(`UPDATE audit_log SET count = count + 1, last_at = now() WHERE id = $1`, [login.id])).rejects.toMatchObject({ code: '42501' });
    // A row older than 15 minutes is closed for good.
    const { rows: [old] } = await database.pool.query<{ id: number }>(
      `INSERT INTO audit_log (at, actor_id, action, entity, entity_id) VALUES (now() - interval '20 minutes', $1, 'incident.read_contact', 'incident', $2) RETURNING id::int`,
      [commander.id, id],
    );
    await expect(database.pool.query(`UPDATE audit_log SET count = count + 1, last_at = now() WHERE id = $1`, [old.id])).rejects.toMatchObject({ code: '42501' });
    // Only contact reads are ever counted (constraint).
    await expect(database.pool.query(`INSERT INTO audit_log (action, entity, count, last_at) VALUES ('user.update', 'user', 2, now())`)).rejects.toMatchObject({ code: '23514' });
    expect((await contactRows(id)).map((r) => r.count)).toEqual([2, 1]);
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
    // Of an update, only a contact read's count and last time (the trigger then checks how): nothing else.
    const { rows: [read] } = await client.query<{ id: number }>(
      `INSERT INTO audit_log (action, entity, entity_id) VALUES ('incident.read_contact', 'incident', 'x') RETURNING id::int`,
    );
    await client.query(`UPDATE audit_log SET count = count + 1, last_at = now() WHERE id = $1`, [read.id]);
    await expect(client.query(`UPDATE audit_log SET count = count + 1, last_at = now(), entity_id = 'y' WHERE id = $1`, [read.id]))
      .rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/permission denied/) });
    await expect(client.query(`UPDATE audit_log SET count = count + 1 WHERE action = 'test.append'`))
      .rejects.toMatchObject({ code: '42501', message: expect.stringMatching(/append-only/) });
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
