import crypto from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { createTestDatabase, usesExternalDatabase, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { buildApp } from '../../server/src/app.js';
import { openDatabase, probeCapabilities, type Database } from '../../server/src/db/database.js';
import { SessionCache } from '../../server/src/auth/session-cache.js';
import type { FoundSession } from '../../server/src/auth/auth.repository.js';

/**
 * The session cache (server/src/auth/session-cache.ts): a request after the first one of a
 * session does not read the database, and every change that ends a session or alters what it
 * shows still holds for the very next request — through this API, through the API's own
 * connections, and (external database) from another process within a moment.
 */

let database: TestDatabase;
let app: FastifyInstance;
let admin: string;
let grid: string;

beforeAll(async () => {
  database = await createTestDatabase();
  await insertSmallDistrict(database.pool);
  app = await buildTestApp(database, { signedIn: false });
  await app.ready();
  const a = await addUser(database.pool, 'admin', '*');
  admin = await signIn(app, a.username, a.password);
  grid = (await database.pool.query<{ code: string }>('SELECT code FROM grids ORDER BY code LIMIT 1')).rows[0].code;
});

afterAll(async () => {
  await app?.close();
  await database?.drop();
});

const me = (cookie: string, on = app) => on.inject({ url: '/api/auth/me', headers: { cookie } });
const patchUser = (id: string, body: object) =>
  app.inject({ method: 'PATCH', url: `/api/users/${id}`, headers: { cookie: admin }, payload: body });
/** The API's own pool (what buildTestApp serves from). */
const appPool = () => database.app.pool;

/** Polls `check` every 20 ms for up to 2 s (a NOTIFY from another connection travels asynchronously). */
async function eventually(check: () => Promise<boolean>, what: string): Promise<number> {
  const t0 = performance.now();
  while (performance.now() - t0 < 2000) {
    if (await check()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`not within 2 s: ${what}`);
}

async function viewer() {
  const u = await addUser(database.pool, 'viewer', '310101002001');
  const cookie = await signIn(app, u.username, u.password);
  expect((await me(cookie)).statusCode).toBe(200); // read once: now cached
  return { ...u, cookie };
}

describe('the session cache', () => {
  it('is on once the app listens, and answers a session from memory after its first request', async () => {
    expect(app.sessionCache.enabled).toBe(true);
    expect(app.sessionInvalidation.listening).toBe(true);
    const v = await viewer();
    const before = { hits: app.sessionCache.hits };
    for (let i = 0; i < 5; i++) expect((await me(v.cookie)).json().username).toBe(v.username);
    expect(app.sessionCache.hits - before.hits).toBe(5);
  });

  it('sign-out ends the session for the very next request', async () => {
    const v = await viewer();
    expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: v.cookie } })).statusCode).toBe(204);
    expect((await me(v.cookie)).statusCode).toBe(401);
  });

  it('disabling, a role change and an area change through the API end the sessions for the very next request', async () => {
    for (const change of [{ disabled: true }, { role: 'planner' }, { areaCode: '310101002' }]) {
      const v = await viewer();
      expect((await patchUser(v.id, change)).statusCode, JSON.stringify(change)).toBe(200);
      const res = await me(v.cookie);
      expect(res.statusCode, JSON.stringify(change)).toBe(401);
      expect(res.json().code).toBe('UNAUTHENTICATED');
    }
  });

  it('a change committed on one of the API\'s own connections holds for the very next request (role, area, department, disabled, responder, session)', async () => {
    const v = await viewer();
    await appPool().query(`UPDATE users SET role = 'commander', area_code = '310101' WHERE id = $1`, [v.id]);
    expect((await me(v.cookie)).json()).toMatchObject({ role: 'commander', areaCode: '310101' });

    await appPool().query(`UPDATE users SET role = 'department', department_code = 'housing' WHERE id = $1`, [v.id]);
    const dept = await app.inject({ url: '/api/auth/me', headers: { cookie: v.cookie } });
    expect(dept.json().role).toBe('department');

    const w = await addUser(database.pool, 'grid_worker', grid);
    const wc = await signIn(app, w.username, w.password);
    expect((await me(wc)).json().responderId).toBe(w.responderId);
    await appPool().query('UPDATE responders SET user_id = NULL WHERE id = $1', [w.responderId]);
    expect((await me(wc)).json().responderId).toBeNull();

    await appPool().query('UPDATE users SET disabled = true WHERE id = $1', [v.id]);
    expect((await me(v.cookie)).statusCode).toBe(401);

    const x = await viewer();
    await appPool().query('DELETE FROM sessions WHERE user_id = $1', [x.id]);
    expect((await me(x.cookie)).statusCode).toBe(401);
  });

  it('a change inside a transaction takes effect at its COMMIT, not before, and not at all when rolled back', async () => {
    const v = await viewer();
    const client = await appPool().connect();
    try {
      await client.query('BEGIN');
      await client.query('UPDATE users SET disabled = true WHERE id = $1', [v.id]);
      expect((await me(v.cookie)).statusCode).toBe(200);
      await client.query('ROLLBACK');
      expect((await me(v.cookie)).statusCode).toBe(200);
      await client.query('BEGIN');
      await client.query('UPDATE users SET disabled = true WHERE id = $1', [v.id]);
      await client.query('COMMIT');
      expect((await me(v.cookie)).statusCode).toBe(401);
    } finally {
      client.release();
    }
  });

  it('idle timeout still ends a cached session, absolute expiry too, and moving a session back in time is heard', async () => {
    const short = await buildApp({
      config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
      database: database.app,
      capabilities: await probeCapabilities(database.app.db),
      logger: false,
      sessionPolicy: { idleSeconds: 3, absoluteSeconds: 3600 },
    });
    try {
      await short.ready();
      const u = await addUser(database.pool, 'viewer', '310101002001');
      const cookie = await signIn(short, u.username, u.password);
      expect((await me(cookie, short)).statusCode).toBe(200);
      expect((await me(cookie, short)).statusCode).toBe(200);
      expect(short.sessionCache.size).toBeGreaterThan(0);
      // Nothing changes in the database: the cached entry's own idle deadline ends it.
      await new Promise((r) => setTimeout(r, 3100));
      expect((await me(cookie, short)).statusCode).toBe(401);
    } finally {
      await short.close();
    }
    const v = await viewer();
    await appPool().query(`UPDATE sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1`, [v.id]);
    expect((await me(v.cookie)).statusCode).toBe(401);
    const x = await viewer();
    await appPool().query(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [x.id]);
    expect((await me(x.cookie)).statusCode).toBe(401);
  });

  it('touches a session used from the cache once a minute (in the background), and the touch itself invalidates nothing', async () => {
    const v = await viewer();
    const lastSeen = async () =>
      (await database.pool.query<{ t: string }>('SELECT last_seen_at::text AS t FROM sessions WHERE user_id = $1', [v.id])).rows[0].t;
    const before = await lastSeen();
    // Its entry was last touched over a minute ago (as by a minute of use from memory).
    const entry = app.sessionCache.lookup(crypto.createHash('sha256').update(v.cookie.split('=')[1]).digest('hex'))!;
    expect(entry).toBeDefined();
    entry.touchedAt -= 61_000;
    const hits = app.sessionCache.hits;
    expect((await me(v.cookie)).statusCode).toBe(200);
    expect(app.sessionCache.hits).toBe(hits + 1); // answered from memory …
    await eventually(async () => (await lastSeen()) !== before, 'last_seen_at touched'); // … and touched meanwhile
    expect(performance.now() - entry.touchedAt).toBeLessThan(5000);
    // Still served from memory: the forward touch sends no NOTIFY.
    expect((await me(v.cookie)).statusCode).toBe(200);
    expect(app.sessionCache.hits).toBe(hits + 2);
  });
});

describe.skipIf(!usesExternalDatabase)('two API processes on one external database', () => {
  let other: Database;
  let second: FastifyInstance;

  beforeAll(async () => {
    // Its own pool, as another process has: it hears changes only through its LISTEN connection.
    other = await openDatabase({ databaseUrl: database.app.url, dataDir: '' });
    second = await buildTestApp(other, { signedIn: false });
    await second.ready();
  });

  afterAll(async () => {
    await second?.close();
    await other?.close();
  });

  const both = async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    expect((await me(cookie, second)).statusCode).toBe(200);
    expect((await me(cookie, second)).statusCode).toBe(200); // cached in the second process
    return { ...u, cookie };
  };

  it('disable, role and area changes and sign-out through one are refused by the other at once', async () => {
    for (const change of [{ disabled: true }, { role: 'planner' }, { areaCode: '310101002' }, 'logout'] as const) {
      const v = await both();
      if (change === 'logout') expect((await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie: v.cookie } })).statusCode).toBe(204);
      else expect((await patchUser(v.id, change)).statusCode).toBe(200);
      const ms = await eventually(async () => (await me(v.cookie, second)).statusCode === 401, `second refuses after ${JSON.stringify(change)}`);
      expect(ms).toBeLessThan(2000);
    }
  });

  it('a change by a third connection (psql, the CLI) reaches both', async () => {
    const v = await both();
    expect((await me(v.cookie)).statusCode).toBe(200);
    await database.pool.query(`UPDATE users SET role = 'commander', area_code = '310101' WHERE id = $1`, [v.id]);
    for (const on of [app, second]) await eventually(async () => (await me(v.cookie, on)).json().role === 'commander', 'the new role');
  });

  it('fail safe: while the LISTEN connection is down the cache is off, and it comes back by itself', async () => {
    const v = await both();
    const listener = (await database.pool.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'wangge-sessions'`,
    )).rows;
    expect(listener.length).toBe(2); // one per app
    const count = second.sessionInvalidation.listenCount;
    await database.pool.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1', ['wangge-sessions']);
    await eventually(async () => !second.sessionCache.enabled || second.sessionInvalidation.listenCount > count, 'the cache turned off');
    // Whether still off or already back (emptied on return), a change made meanwhile is not missed.
    const direct = new pg.Client({ connectionString: database.url });
    await direct.connect();
    await direct.query('UPDATE users SET disabled = true WHERE id = $1', [v.id]);
    await direct.end();
    await eventually(async () => (await me(v.cookie, second)).statusCode === 401, 'refused');
    await eventually(async () => second.sessionCache.enabled && second.sessionInvalidation.listenCount > count, 'listening again');
  });
});

describe('SessionCache', () => {
  const found = (userId: string, sessionId: string): FoundSession => ({
    user: { id: userId, username: 'u', displayName: null, role: 'viewer', areaCode: '310101', responderId: null, departmentCode: null, sessionId },
    expiresInSeconds: 3600,
    seenSecondsAgo: 0,
  });

  it('caches nothing until enabled, nor after disable()', () => {
    const cache = new SessionCache({ idleSeconds: 60 });
    cache.store('a', found('u1', 'a'), cache.generation, true);
    expect(cache.lookup('a')).toBeUndefined();
    cache.enable();
    cache.store('a', found('u1', 'a'), cache.generation, true);
    expect(cache.lookup('a')?.user.id).toBe('u1');
    cache.disable();
    expect(cache.lookup('a')).toBeUndefined();
  });

  it('does not store a fill that an invalidation overtook', () => {
    const cache = new SessionCache({ idleSeconds: 60 });
    cache.enable();
    const generation = cache.generation;
    cache.invalidate('s:other');
    cache.store('a', found('u1', 'a'), generation, true);
    expect(cache.lookup('a')).toBeUndefined();
  });

  it('drops by session, by user and everything; and by each deadline', () => {
    let now = 0;
    const cache = new SessionCache({ idleSeconds: 60, ttlMs: 5000, now: () => now });
    cache.enable();
    const fill = (id: string, user: string) => cache.store(id, found(user, id), cache.generation, true);
    fill('a', 'u1');
    fill('b', 'u1');
    fill('c', 'u2');
    cache.invalidate('u:u1');
    expect([cache.lookup('a'), cache.lookup('b'), cache.lookup('c')?.user.id]).toEqual([undefined, undefined, 'u2']);
    cache.invalidate('s:c');
    expect(cache.lookup('c')).toBeUndefined();
    fill('d', 'u3');
    cache.invalidate('*');
    expect(cache.lookup('d')).toBeUndefined();
    fill('e', 'u4');
    now = 4999;
    expect(cache.lookup('e')).toBeDefined();
    now = 5000;
    expect(cache.lookup('e')).toBeUndefined(); // TTL
    cache.store('f', { ...found('u5', 'f'), expiresInSeconds: 1 }, cache.generation, true);
    now += 1000;
    expect(cache.lookup('f')).toBeUndefined(); // absolute end
    cache.store('g', { ...found('u6', 'g'), seenSecondsAgo: 58 }, cache.generation, false);
    now += 1999;
    expect(cache.lookup('g')).toBeDefined();
    now += 1;
    expect(cache.lookup('g')).toBeUndefined(); // idle end: 60 s after the last touch
  });
});
