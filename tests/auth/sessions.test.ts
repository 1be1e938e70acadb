import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { createTestDatabase, tempDir, type TestDatabase } from '../support/database.js';
import { buildTestApp } from '../support/app.js';
import { addUser, signIn } from '../support/auth.js';
import { insertSmallDistrict } from '../support/fixtures.js';
import { buildApp } from '../../server/src/app.js';
import { probeCapabilities } from '../../server/src/db/database.js';

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

const login = (username: string, password: string, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password }, headers });
const me = (cookie: string) => app.inject({ url: '/api/auth/me', headers: { cookie } });
const setCookieOf = (res: { headers: Record<string, unknown> }) => {
  const h = res.headers['set-cookie'];
  const all = (Array.isArray(h) ? h : [h]).filter(Boolean) as string[];
  const ours = all.filter((c) => c.startsWith('wangge_session='));
  expect(ours).toHaveLength(1);
  return ours[0];
};
const attrs = (setCookie: string) => setCookie.split(';').slice(1).map((a) => a.trim().toLowerCase());

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Strict, Path=/ and, over plain http, not Secure', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const res = await login(u.username, u.password);
    expect(res.statusCode).toBe(200);
    const c = setCookieOf(res);
    expect(c).toMatch(/^wangge_session=[A-Za-z0-9_-]{43};/);
    const a = attrs(c);
    expect(a).toContain('httponly');
    expect(a).toContain('samesite=strict');
    expect(a).toContain('path=/');
    expect(a).not.toContain('secure');
    const expires = a.find((x) => x.startsWith('expires='));
    expect(expires).toBeDefined();
    // Twelve hours, the absolute lifetime of a session.
    const lifetime = Date.parse(expires!.slice('expires='.length)) - Date.now();
    expect(lifetime).toBeGreaterThan(11.9 * 3600_000);
    expect(lifetime).toBeLessThanOrEqual(12 * 3600_000 + 1000);
  });

  it('is Secure when the request came over TLS (a real HTTPS socket)', async () => {
    const dir = tempDir('tls');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
      '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
    await app.ready();
    const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (req, res) =>
      app.routing(req, res),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const u = await addUser(database.pool, 'viewer', '310101002001');
      const { port } = server.address() as AddressInfo;
      const body = JSON.stringify({ username: u.username, password: u.password });
      const res = await new Promise<{ status: number; setCookie: string[] }>((resolve, reject) => {
        const req = https.request(
          { host: '127.0.0.1', port, path: '/api/auth/login', method: 'POST', rejectUnauthorized: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (r) => {
            r.resume();
            r.on('end', () => resolve({ status: r.statusCode!, setCookie: r.headers['set-cookie'] ?? [] }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(res.status).toBe(200);
      const c = res.setCookie.find((x) => x.startsWith('wangge_session='))!;
      expect(attrs(c)).toEqual(expect.arrayContaining(['secure', 'httponly', 'samesite=strict', 'path=/']));
    } finally {
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('ignores X-Forwarded-Proto: the app trusts no proxy, so a client cannot claim https (nor can a TLS-terminating proxy)', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const res = await login(u.username, u.password, { 'x-forwarded-proto': 'https' });
    expect(res.statusCode).toBe(200);
    expect(attrs(setCookieOf(res))).not.toContain('secure');
  });
});

describe('session lifecycle', () => {
  it('a sign-in replaces the session the request presents (no fixation): the old token stops working', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const first = await signIn(app, u.username, u.password);
    expect((await me(first)).statusCode).toBe(200);
    const again = await login(u.username, u.password, { cookie: first });
    expect(again.statusCode).toBe(200);
    const second = `wangge_session=${again.cookies.find((c) => c.name === 'wangge_session')!.value}`;
    expect(second).not.toBe(first);
    expect((await me(first)).statusCode).toBe(401);
    expect((await me(second)).statusCode).toBe(200);
  });

  it('a token planted before sign-in is not adopted', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const planted = 'wangge_session=' + 'A'.repeat(43);
    const res = await login(u.username, u.password, { cookie: planted });
    expect(res.statusCode).toBe(200);
    expect(res.cookies.find((c) => c.name === 'wangge_session')!.value).not.toBe('A'.repeat(43));
    expect((await me(planted)).statusCode).toBe(401);
  });

  it('logout ends the session: the token is dead afterwards and the cookie is cleared', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    const res = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie } });
    expect(res.statusCode).toBe(204);
    const cleared = setCookieOf(res);
    expect(cleared).toMatch(/^wangge_session=;/);
    expect(attrs(cleared).some((a) => a === 'max-age=0' || /expires=thu, 01 jan 1970/.test(a))).toBe(true);
    expect((await me(cookie)).statusCode).toBe(401);
    const { rows } = await database.pool.query('SELECT count(*)::int AS n FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1', [u.username]);
    expect(rows[0].n).toBe(0);
  });

  it('an idle session expires after 30 minutes without a request; a used one is kept alive', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    // Through the API's own pool: a change it commits reaches its session cache before the COMMIT
    // answers (a change from elsewhere arrives by NOTIFY moments later: tests/auth/session-cache.test.ts).
    const back = (minutes: number) =>
      database.app.pool.query(`UPDATE sessions SET last_seen_at = now() - make_interval(mins => $2) WHERE user_id = $1`, [u.id, minutes]);
    await back(29);
    expect((await me(cookie)).statusCode).toBe(200); // and touched: last_seen_at is now again
    const { rows } = await database.pool.query('SELECT last_seen_at > now() - interval \'1 minute\' AS fresh FROM sessions WHERE user_id = $1', [u.id]);
    expect(rows[0].fresh).toBe(true);
    await back(31);
    const res = await me(cookie);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
  });

  it('a session ends at its absolute expiry even while in use', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    await database.pool.query(`UPDATE sessions SET expires_at = now() - interval '1 second', last_seen_at = now() WHERE user_id = $1`, [u.id]);
    expect((await me(cookie)).statusCode).toBe(401);
  });

  it('the session policy given to buildApp is the one applied (absolute 2 s)', async () => {
    const short = await buildApp({
      config: { bodyLimitBytes: 1_000_000, webDist: '/nonexistent', logLevel: 'warn' },
      database,
      capabilities: await probeCapabilities(database.db),
      logger: false,
      sessionPolicy: { idleSeconds: 3600, absoluteSeconds: 2 },
    });
    try {
      const u = await addUser(database.pool, 'viewer', '310101002001');
      const cookie = await signIn(short, u.username, u.password);
      expect((await short.inject({ url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, 2200));
      expect((await short.inject({ url: '/api/auth/me', headers: { cookie } })).statusCode).toBe(401);
    } finally {
      await short.close();
    }
  });

  it('disabling an account ends its sessions at once and refuses its sign-in', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    await database.pool.query('UPDATE users SET disabled = true WHERE id = $1', [u.id]);
    const res = await me(cookie);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('UNAUTHENTICATED');
    const again = await login(u.username, u.password);
    expect(again.statusCode).toBe(401);
    expect(again.json().code).toBe('INVALID_CREDENTIALS');
    expect(again.cookies.find((c) => c.name === 'wangge_session')).toBeUndefined();
  });
});

describe('cross-site writes', () => {
  it('a POST whose Origin names another site is 403 CSRF_REJECTED and does nothing', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    for (const origin of ['https://evil.example', 'null', 'http://wangge.example:8080', 'not a url']) {
      const res = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, origin, host: 'wangge.example' } });
      expect(res.statusCode, origin).toBe(403);
      expect(res.json().code).toBe('CSRF_REJECTED');
    }
    expect((await me(cookie)).statusCode).toBe(200); // still signed in
    // A cross-site sign-in (login CSRF) is refused too.
    const cross = await login(u.username, u.password, { origin: 'https://evil.example' });
    expect(cross.statusCode).toBe(403);
    expect(cross.json().code).toBe('CSRF_REJECTED');
  });

  it('a same-origin POST (or one without Origin, from a non-browser client) goes through', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    // Same host, other scheme: another origin.
    const otherScheme = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, origin: 'https://wangge.example', host: 'wangge.example' } });
    expect(otherScheme.statusCode).toBe(403);
    expect(otherScheme.json().code).toBe('CSRF_REJECTED');
    const res = await app.inject({ method: 'POST', url: '/api/auth/logout', headers: { cookie, origin: 'http://wangge.example', host: 'wangge.example' } });
    expect(res.statusCode).toBe(204);
    expect((await me(cookie)).statusCode).toBe(401);
    const ok = await login(u.username, u.password, { origin: 'http://wangge.example:8443', host: 'wangge.example:8443' });
    expect(ok.statusCode).toBe(200);
  });

  it('a GET with a foreign Origin is answered (reads are not writes; SameSite=Strict keeps the cookie off cross-site requests)', async () => {
    const u = await addUser(database.pool, 'viewer', '310101002001');
    const cookie = await signIn(app, u.username, u.password);
    expect((await app.inject({ url: '/api/auth/me', headers: { cookie, origin: 'https://evil.example' } })).statusCode).toBe(200);
  });
});

describe('GET /api/auth/me', () => {
  it('returns the role, area and, for a grid worker, the linked responder record', async () => {
    const { rows } = await database.pool.query<{ code: string }>(`SELECT code FROM grids ORDER BY code LIMIT 1`);
    const gw = await addUser(database.pool, 'grid_worker', rows[0].code);
    const body = (await me(await signIn(app, gw.username, gw.password))).json();
    expect(body).toEqual({ id: gw.id, username: gw.username, displayName: null, role: 'grid_worker', areaCode: rows[0].code, responderId: expect.any(String), departmentCode: null });
    const r = await database.pool.query('SELECT user_id::text, kind, home_grid_id = (SELECT id FROM grids WHERE code = $2) AS home FROM responders WHERE id = $1', [body.responderId, rows[0].code]);
    expect(r.rows[0]).toEqual({ user_id: gw.id, kind: 'grid_worker', home: true });

    const v = await addUser(database.pool, 'viewer', '310101002');
    expect((await me(await signIn(app, v.username, v.password))).json()).toMatchObject({ role: 'viewer', areaCode: '310101002', responderId: null });
  });

  it('never shows the password hash or the session token', async () => {
    const u = await addUser(database.pool, 'commander', '310101');
    const cookie = await signIn(app, u.username, u.password);
    const text = (await me(cookie)).body;
    expect(text).not.toMatch(/\$argon2/);
    expect(text).not.toContain(cookie.split('=')[1]);
  });

  it('without a session is 401 UNAUTHENTICATED, with a malformed or unknown token too', async () => {
    for (const cookie of ['', 'wangge_session=', 'wangge_session=abc', `wangge_session=${'x'.repeat(43)}`, `wangge_session=${'x'.repeat(5000)}`]) {
      const res = await me(cookie);
      expect(res.statusCode, cookie.slice(0, 30)).toBe(401);
      expect(res.json().code).toBe('UNAUTHENTICATED');
    }
  });
});

describe('GET /api/auth/session (the app\'s session probe, issue 10 item 11)', () => {
  it('answers 200 either way: the user with a live session, null without one or with an unknown token', async () => {
    const u = await addUser(database.pool, 'commander', '310101');
    const cookie = await signIn(app, u.username, u.password);
    const probe = (c: string) => app.inject({ url: '/api/auth/session', headers: { cookie: c } });
    const signedIn = await probe(cookie);
    expect(signedIn.statusCode).toBe(200);
    expect(signedIn.json().user).toEqual((await me(cookie)).json());
    for (const c of ['', 'wangge_session=abc', `wangge_session=${'x'.repeat(43)}`]) {
      const res = await probe(c);
      expect(res.statusCode, c).toBe(200);
      expect(res.json()).toEqual({ user: null });
    }
  });
});
